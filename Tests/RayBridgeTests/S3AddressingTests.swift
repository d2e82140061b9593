import Foundation
import NIOCore
import Testing

@testable import RayBridge
@testable import RayBridgeClients
@testable import RayBridgeCore

/// `s3.addressingStyle`, and what a bucket in another region says.
@Suite struct S3AddressingTests {
    func client(_ endpoint: String, _ style: S3AddressingStyle) -> S3Client {
        var client = S3Client(
            endpoint: URL(string: endpoint)!, region: "us-east-1", credentials: S3CredentialsFile(directory: "/nonexistent"))
        client.addressingStyle = style
        return client
    }

    @Test func autoIsVirtualForAWSAndPathOtherwise() {
        let query = [("partNumber", "1"), ("uploadId", "u/1")]
        #expect(
            client("https://s3.eu-west-1.amazonaws.com", .auto).url(bucket: "ray-logs", key: "a b/c.log", query: query).absoluteString
                == "https://ray-logs.s3.eu-west-1.amazonaws.com/a%20b/c.log?partNumber=1&uploadId=u%2F1")
        #expect(
            client("https://minio.internal:9000", .auto).url(bucket: "ray-logs", key: "k", query: []).absoluteString
                == "https://minio.internal:9000/ray-logs/k")
        // A dotted bucket does not match *.s3.amazonaws.com's certificate: path style, as the SDKs.
        #expect(
            client("https://s3.amazonaws.com", .auto).url(bucket: "my.logs", key: "k", query: []).absoluteString
                == "https://s3.amazonaws.com/my.logs/k")
    }

    @Test func pathAndVirtualAreWhatTheySay() {
        #expect(
            client("https://s3.us-east-1.amazonaws.com", .path).url(bucket: "ray-logs", key: "k", query: []).absoluteString
                == "https://s3.us-east-1.amazonaws.com/ray-logs/k")
        #expect(
            client("http://s3.localhost:9000", .virtual).url(bucket: "ray-logs", key: "x/y", query: [("uploads", "")]).absoluteString
                == "http://ray-logs.s3.localhost:9000/x/y?uploads")
        let bucketOnly = client("http://s3.localhost:9000", .virtual).url(bucket: "ray-logs", key: nil, query: [])
        #expect(bucketOnly.absoluteString == "http://ray-logs.s3.localhost:9000/")
    }

    @Test func aBucketInAnotherRegionIsNamedWithItsRegion() {
        // AWS's answer to a request signed for us-east-1 for a bucket in eu-west-1.
        let body = """
            <?xml version="1.0" encoding="UTF-8"?>
            <Error><Code>AuthorizationHeaderMalformed</Code><Message>The authorization header is malformed; the region 'us-east-1' is wrong; expecting 'eu-west-1'</Message><Region>eu-west-1</Region><RequestId>R1</RequestId></Error>
            """
        let error = S3Error.service(status: 400, response: S3ErrorResponse.parse(Data(body.utf8)), bucket: "ray-logs", key: "k")
        #expect(error.description.contains("bucket \"ray-logs\" is in region eu-west-1"), "\(error)")
        #expect(error.description.contains("set s3.region: \"eu-west-1\""))
        // A 301 with only the header (S3Client fills the region in from x-amz-bucket-region).
        let redirect = S3Error.service(
            status: 301, response: S3ErrorResponse(code: "PermanentRedirect", region: "ap-south-1"), bucket: "ray-logs", key: nil)
        #expect(redirect.description.contains("is in region ap-south-1"), "\(redirect)")
    }

    @Test func theKeysAreReadStrictly() {
        let parser = ConfigMapParser(jobName: "job")
        var values = [
            "resourceURL": "http://127.0.0.1:8265", "jobdata.jobScript": "print(1)", "s3.endpoint": "127.0.0.1:9000", "s3.secure": "false",
            "s3upload.bucket": "ray-logs", "s3.addressingStyle": "virtual", "s3upload.compression": "gzip",
        ]
        guard case .valid(let spec, _) = parser.parse(values) else {
            Issue.record("valid keys refused")
            return
        }
        #expect(spec.s3?.addressingStyle == .virtual)
        #expect(spec.s3?.logKey(submissionId: "job-1-abc") == "job/logs/job-1-abc.log.gz")
        values["s3.addressingStyle"] = "Virtual"
        values["s3upload.compression"] = "zstd"
        guard case .invalid(let problems, _) = parser.parse(values) else {
            Issue.record("wrong values accepted")
            return
        }
        let text = problems.map { "\($0)" }.joined(separator: "\n")
        #expect(text.contains("s3.addressingStyle"))
        #expect(text.contains("s3upload.compression"))
        #expect(text.contains("\"gzip\""))
    }
}
