import Foundation
import Testing

@testable import RayBridge
@testable import RayBridgeClients
@testable import RayBridgeCore

/// The worked examples of "Examples: Signature Calculations in AWS Signature Version 4"
/// (Amazon S3 API reference, header-based authentication).
@Suite struct SigV4SignerTests {
    static let signer = SigV4Signer(
        credentials: S3Credentials(
            accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        region: "us-east-1")
    static let date = Date(timeIntervalSince1970: 1_369_353_600)  // 2013-05-24T00:00:00Z
    static let emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    static let scope = "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request"

    func sign(
        _ method: String, _ url: String, _ headers: [(name: String, value: String)] = [],
        payload: String = emptySHA256
    ) -> [String: String] {
        let added = Self.signer.sign(
            method: method, url: URL(string: url)!, headers: headers, payloadSHA256Hex: payload, date: Self.date)
        return Dictionary(uniqueKeysWithValues: added.map { ($0.name, $0.value) })
    }

    @Test func getObjectWithRange() {
        let url = URL(string: "https://examplebucket.s3.amazonaws.com/test.txt")!
        let canonical = Self.signer.canonicalRequest(
            method: "GET", url: url,
            headers: [
                ("Range", "bytes=0-9"), ("x-amz-content-sha256", Self.emptySHA256),
                ("x-amz-date", "20130524T000000Z"),
            ],
            payloadSHA256Hex: Self.emptySHA256)
        #expect(
            canonical.request == """
                GET
                /test.txt

                host:examplebucket.s3.amazonaws.com
                range:bytes=0-9
                x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                x-amz-date:20130524T000000Z

                host;range;x-amz-content-sha256;x-amz-date
                e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                """)
        // The last line of the documented StringToSign.
        #expect(
            SigV4Signer.sha256Hex(Array(canonical.request.utf8))
                == "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972")

        let headers = sign("GET", "https://examplebucket.s3.amazonaws.com/test.txt", [("Range", "bytes=0-9")])
        #expect(
            headers["authorization"] == "AWS4-HMAC-SHA256 Credential=\(Self.scope), "
                + "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
                + "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
        #expect(headers["x-amz-date"] == "20130524T000000Z")
        #expect(headers["x-amz-content-sha256"] == Self.emptySHA256)
        #expect(headers["x-amz-security-token"] == nil)
    }

    @Test func putObjectWithStorageClassAndDate() {
        let payload = SigV4Signer.sha256Hex(Array("Welcome to Amazon S3.".utf8))
        #expect(payload == "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072")
        let path = S3Path.encode(key: "test$file.text")
        #expect(path == "test%24file.text")
        let headers: [(name: String, value: String)] = [
            ("Date", "Fri, 24 May 2013 00:00:00 GMT"), ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
        ]
        let expected =
            "AWS4-HMAC-SHA256 Credential=\(Self.scope), "
            + "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class, "
            + "Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"
        #expect(
            sign("PUT", "https://examplebucket.s3.amazonaws.com/\(path)", headers, payload: payload)["authorization"]
                == expected)
        // A reserved character the caller left literal is still signed the way S3 canonicalizes it.
        #expect(
            sign("PUT", "https://examplebucket.s3.amazonaws.com/test$file.text", headers, payload: payload)[
                "authorization"] == expected)
    }

    @Test func getBucketLifecycle() {
        #expect(
            sign("GET", "https://examplebucket.s3.amazonaws.com/?lifecycle")["authorization"]
                == "AWS4-HMAC-SHA256 Credential=\(Self.scope), SignedHeaders=host;x-amz-content-sha256;x-amz-date, "
                + "Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543")
        #expect(SigV4Signer.canonicalQuery(URL(string: "https://h/?lifecycle")!) == "lifecycle=")
    }

    @Test func getBucketListObjects() {
        let expected =
            "AWS4-HMAC-SHA256 Credential=\(Self.scope), SignedHeaders=host;x-amz-content-sha256;x-amz-date, "
            + "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"
        #expect(sign("GET", "https://examplebucket.s3.amazonaws.com/?max-keys=2&prefix=J")["authorization"] == expected)
        #expect(sign("GET", "https://examplebucket.s3.amazonaws.com/?prefix=J&max-keys=2")["authorization"] == expected)
    }

    @Test func sessionTokenIsAddedAndSigned() {
        let signer = SigV4Signer(
            credentials: S3Credentials(accessKeyId: "AKID", secretAccessKey: "secret", sessionToken: "tok/en+="),
            region: "eu-west-1")
        let added = signer.sign(
            method: "PUT", url: URL(string: "http://127.0.0.1:9000/ray-logs/a")!,
            headers: [("X-Amz-Security-Token", "stale"), ("Authorization", "old")],
            payloadSHA256Hex: SigV4Signer.unsignedPayload, date: Self.date)
        #expect(added.map(\.name) == ["authorization", "x-amz-date", "x-amz-content-sha256", "x-amz-security-token"])
        #expect(added[3].value == "tok/en+=")
        #expect(
            added[0].value.contains(
                "SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token,"))
        #expect(added[2].value == "UNSIGNED-PAYLOAD")
    }

    @Test func canonicalPartsFollowS3Rules() {
        #expect(SigV4Signer.canonicalURI(URL(string: "https://h")!) == "/")
        #expect(SigV4Signer.canonicalURI(URL(string: "https://h/b//a/./c/../%7e%2f%20x")!) == "/b//a/./c/../~%2F%20x")
        #expect(
            SigV4Signer.canonicalQuery(URL(string: "https://h/?uploads&prefix=a%2Fb&prefix=a&max-keys=1")!)
                == "max-keys=1&prefix=a&prefix=a%2Fb&uploads=")
        #expect(SigV4Signer.host(of: URL(string: "http://Minio.Local:80/b")!) == "minio.local")
        #expect(SigV4Signer.host(of: URL(string: "https://minio.local:80/b")!) == "minio.local:80")
        #expect(SigV4Signer.host(of: URL(string: "http://[::1]:9000/b")!) == "[::1]:9000")
        #expect(SigV4Signer.trimAll("  a \t  b  ") == "a b")
        #expect(SigV4Signer.timestamp(Date(timeIntervalSince1970: 2_145_916_799)) == "20371231T235959Z")
    }

    @Test func pathEncoding() {
        #expect(S3Path.encode(key: "logs/job 1/é+$.txt") == "logs/job%201/%C3%A9%2B%24.txt")
        #expect(S3Path.encode(component: "a/b c~") == "a%2Fb%20c~")
        #expect(S3Path.decode("%41%zz%4") == Array("A%zz%4".utf8))
    }
}
