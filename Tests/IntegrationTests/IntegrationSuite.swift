import Testing

/// Every integration suite shares one Ray head, one S3 server and one TLS proxy. Their tests run
/// side by side, a few at a time; the ones that stop the head or restart it with a token run
/// alone (`RayHeadAccess`).
@Suite(.rayHead(.shared)) enum IntegrationSuite {}
