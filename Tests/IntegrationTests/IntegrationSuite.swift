import Testing

/// Every integration suite shares one Ray head and one S3 server, and some restart them: they
/// are nested here so that, serialized, no two of them ever run at the same time.
@Suite(.serialized) enum IntegrationSuite {}
