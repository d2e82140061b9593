import Foundation
import Testing

@testable import RayBridge
@testable import RayBridgeClients
@testable import RayBridgeCore

@Suite struct S3ErrorTests {
    func error(_ status: Int, _ body: String, bucket: String? = "ray-logs", key: String? = "jobs/1/log.txt") -> S3Error {
        .service(status: status, response: S3ErrorResponse.parse(Data(body.utf8)), bucket: bucket, key: key)
    }

    @Test func missingBucketAndKeyNameThem() {
        let bucket = error(404, "<Error><Code>NoSuchBucket</Code><BucketName>nope-bucket</BucketName></Error>")
        #expect(bucket.description.contains("\"nope-bucket\""))
        #expect(!bucket.isRetryable)
        let key = error(404, "<Error><Code>NoSuchKey</Code><Key>missing</Key><RequestId>R1</RequestId></Error>")
        #expect(key.description.contains("\"missing\""))
        #expect(key.description.contains("\"ray-logs\""))
        #expect(key.description.contains("R1"))
    }

    @Test func credentialProblemsPointAtTheSecret() {
        // A real SignatureDoesNotMatch body echoes the access key and what was signed.
        let signature = error(
            403,
            """
            <Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match \
            the signature you provided. Check your key and signing method.</Message>\
            <AWSAccessKeyId>AKIAIOSFODNN7EXAMPLE</AWSAccessKeyId><StringToSign>AWS4-HMAC-SHA256 x</StringToSign>\
            <CanonicalRequest>GET /</CanonicalRequest></Error>
            """)
        for failure in [
            signature, error(403, "<Error><Code>AccessDenied</Code></Error>"),
            error(403, "<Error><Code>InvalidAccessKeyId</Code></Error>"),
        ] {
            #expect(failure.description.contains("accesskey"))
            #expect(failure.description.contains("secretkey"))
            #expect(failure.description.contains("region"))
            #expect(!failure.isRetryable)
        }
        #expect(!signature.description.contains("AKIAIOSFODNN7EXAMPLE"))
        #expect(!signature.description.contains("StringToSign"))
        #expect(!signature.description.contains("AWS4-HMAC-SHA256"))
    }

    @Test func multipartProblems() {
        let upload = error(404, "<Error><Code>NoSuchUpload</Code><UploadId>abc123</UploadId></Error>")
        #expect(upload.description.contains("abc123"))
        #expect(upload.description.contains("\"jobs/1/log.txt\""))
        #expect(error(400, "<Error><Code>EntityTooSmall</Code></Error>").description.contains("5 MiB"))
        #expect(!error(400, "<Error><Code>InvalidPartOrder</Code></Error>").isRetryable)
    }

    @Test func retryable() {
        let slowDown = error(503, "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>")
        #expect(slowDown.isRetryable)
        #expect(slowDown.code == "SlowDown")
        #expect(slowDown.description.contains("HTTP 503, SlowDown"))
        #expect(error(500, "<html>oops</html>").isRetryable)
        #expect(error(502, "").description.contains("temporary"))
        #expect(error(200, "<Error><Code>InternalError</Code></Error>").isRetryable)
        #expect(!error(501, "<Error><Code>NotImplemented</Code></Error>").isRetryable)
        #expect(!S3Error.malformedResponse("x").isRetryable)
    }

    @Test func bodilessResponsesStillSaySomething() {
        // HEAD answers 404 with no body.
        let head = error(404, "")
        #expect(head.code == nil)
        #expect(head.description.contains("\"jobs/1/log.txt\""))
        #expect(error(403, "").description.contains("secretkey"))
        #expect(
            error(400, "<Error><Code>Weird</Code><Message>Odd thing.</Message></Error>").description
                == "S3 request failed (HTTP 400, Weird): Odd thing.")
    }
}
