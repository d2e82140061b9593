import Foundation
import Testing

@testable import RayBridge
@testable import RayBridgeClients
@testable import RayBridgeCore

/// Bodies shaped like AWS's documented responses and like moto 5's (root names differ).
@Suite struct S3XMLParsingTests {
    func data(_ xml: String) -> Data { Data(xml.utf8) }

    @Test func initiateFromAWSAndMoto() throws {
        let aws = """
            <?xml version="1.0" encoding="UTF-8"?>
            <InitiateMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
              <Bucket>example-bucket</Bucket>
              <Key>example-object</Key>
              <UploadId>VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA</UploadId>
            </InitiateMultipartUploadResult>
            """
        #expect(
            try InitiateMultipartUploadResult.parse(data(aws)).uploadId
                == "VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA")
        let moto =
            #"<?xml version="1.0" encoding="utf-8"?>"#
            + #"<InitiateMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>ray-logs</Bucket>"#
            + #"<Key>a/b c&amp;d.txt</Key><UploadId>qbFioDnqXZtI5cSrfnVEfAVlGx4Z7DnZtSEH1ao0IiMXXat9MPXDw</UploadId>"#
            + #"</InitiateMultipartUploadResult>"#
        #expect(
            try InitiateMultipartUploadResult.parse(data(moto)).uploadId
                == "qbFioDnqXZtI5cSrfnVEfAVlGx4Z7DnZtSEH1ao0IiMXXat9MPXDw")
        #expect(throws: S3Error.malformedResponse("CreateMultipartUpload response has no UploadId")) {
            try InitiateMultipartUploadResult.parse(data("<InitiateMultipartUploadResult/>"))
        }
    }

    @Test func listPartsFromAWS() throws {
        let xml = """
            <?xml version="1.0" encoding="UTF-8"?>
            <ListPartsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
              <Bucket>example-bucket</Bucket>
              <Key>example-object</Key>
              <UploadId>XXBsb2FkIElEIGZvciBlbHZpbmcncyVcdS1tb3ZpZS5tMnRzEEEwbG9hZA</UploadId>
              <PartNumberMarker>1</PartNumberMarker>
              <NextPartNumberMarker>3</NextPartNumberMarker>
              <MaxParts>2</MaxParts>
              <IsTruncated>true</IsTruncated>
              <Part>
                <PartNumber>2</PartNumber>
                <LastModified>2010-11-10T20:48:34.000Z</LastModified>
                <ETag>&quot;7778aef83f66abc1fa1e8477f296d394&quot;</ETag>
                <Size>10485760</Size>
              </Part>
              <Part>
                <PartNumber>3</PartNumber>
                <LastModified>2010-11-10T20:48:33.000Z</LastModified>
                <ETag>"aaaa18db4cc2f85cedef654fccc4a4x8"</ETag>
                <Size>10485760</Size>
              </Part>
            </ListPartsResult>
            """
        let result = try ListPartsResult.parse(data(xml))
        #expect(
            result.parts == [
                .init(number: 2, etag: "\"7778aef83f66abc1fa1e8477f296d394\"", size: 10_485_760),
                .init(number: 3, etag: "\"aaaa18db4cc2f85cedef654fccc4a4x8\"", size: 10_485_760),
            ])
        #expect(result.isTruncated)
        #expect(result.nextPartNumberMarker == 3)
    }

    @Test func listPartsFromMotoRootName() throws {
        let xml =
            #"<?xml version="1.0" encoding="utf-8"?>"#
            + #"<ListPartsResponse xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>ray-logs</Bucket>"#
            + #"<Key>a/b c&amp;d.txt</Key><UploadId>qbF</UploadId><PartNumberMarker>0</PartNumberMarker>"#
            + #"<NextPartNumberMarker>1</NextPartNumberMarker><MaxParts>1</MaxParts><IsTruncated>false</IsTruncated>"#
            + #"<Part><PartNumber>1</PartNumber><LastModified>2026-11-22T21:27:52.000Z</LastModified>"#
            + #"<ETag>"4f08eef4096726bff1125e1b1b734644"</ETag><Size>5242880</Size></Part>"#
            + #"<Initiator><ID>75aa</ID><DisplayName>webfile</DisplayName></Initiator>"#
            + #"<Owner><DisplayName>webfile</DisplayName><ID>75aa</ID></Owner><StorageClass>STANDARD</StorageClass>"#
            + #"</ListPartsResponse>"#
        let result = try ListPartsResult.parse(data(xml))
        #expect(result.parts == [.init(number: 1, etag: "\"4f08eef4096726bff1125e1b1b734644\"", size: 5_242_880)])
        #expect(!result.isTruncated)
        #expect(try ListPartsResult.parse(data("<ListPartsResult/>")) == ListPartsResult(parts: [], isTruncated: false, nextPartNumberMarker: nil))
    }

    @Test func prefixedNamespacesAreIgnored() throws {
        let xml =
            #"<s3:ListPartsResult xmlns:s3="http://s3.amazonaws.com/doc/2006-03-01/">"#
            + #"<s3:IsTruncated>true</s3:IsTruncated><s3:Part><s3:PartNumber>7</s3:PartNumber>"#
            + #"<s3:ETag>"e"</s3:ETag><s3:Size>1</s3:Size></s3:Part></s3:ListPartsResult>"#
        let result = try ListPartsResult.parse(data(xml))
        #expect(result.parts == [.init(number: 7, etag: "\"e\"", size: 1)])
        #expect(result.isTruncated)
    }

    @Test func completeFromAWSAndMoto() throws {
        let aws = """
            <?xml version="1.0" encoding="UTF-8"?>
            <CompleteMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
              <Location>http://Example-Bucket.s3.region.amazonaws.com/Example-Object</Location>
              <Bucket>Example-Bucket</Bucket>
              <Key>Example-Object</Key>
              <ETag>"3858f62230ac3c915f300c664312c11f-9"</ETag>
            </CompleteMultipartUploadResult>
            """
        #expect(
            try CompleteMultipartUploadResult.parse(data(aws))
                == CompleteMultipartUploadResult(
                    location: "http://Example-Bucket.s3.region.amazonaws.com/Example-Object", bucket: "Example-Bucket",
                    key: "Example-Object", etag: "\"3858f62230ac3c915f300c664312c11f-9\""))
        let moto =
            #"<CompleteMultipartUploadResponse xmlns="http://s3.amazonaws.com/doc/2006-03-01/">"#
            + #"<Location>http://ray-logs.s3.amazonaws.com/a/b c&amp;d.txt</Location><Bucket>ray-logs</Bucket>"#
            + #"<Key>a/b c&amp;d.txt</Key><ETag>&quot;298c9a5c8205ea8eeef29652993678aa-2&quot;</ETag>"#
            + #"</CompleteMultipartUploadResponse>"#
        let result = try CompleteMultipartUploadResult.parse(data(moto))
        #expect(result.key == "a/b c&d.txt")
        #expect(result.etag == "\"298c9a5c8205ea8eeef29652993678aa-2\"")
    }

    @Test func completeWithErrorBodyAndStatus200Throws() {
        let xml = """
            <?xml version="1.0" encoding="UTF-8"?>

            <Error>
              <Code>InternalError</Code>
              <Message>We encountered an internal error. Please try again.</Message>
              <RequestId>656c76696e6727732072657175657374</RequestId>
              <HostId>Uuag1LuByRx9e6j5Onimru9pO4ZVKnJ2Qz7/C1NPcfTWAtRPfTaOFg==</HostId>
            </Error>
            """
        let error = #expect(throws: S3Error.self) { try CompleteMultipartUploadResult.parse(data(xml)) }
        #expect(error?.code == "InternalError")
        #expect(error?.isRetryable == true)
        guard case .service(let status, let response?, _, _) = error else {
            Issue.record("expected a service error, got \(String(describing: error))")
            return
        }
        #expect(status == 200)
        #expect(response.requestId == "656c76696e6727732072657175657374")
    }

    @Test func malformedBodies() {
        #expect(throws: S3Error.malformedResponse("ListParts response is not well-formed XML")) {
            try ListPartsResult.parse(data("<ListPartsResult><Part>"))
        }
        #expect(throws: S3Error.malformedResponse("CompleteMultipartUpload response is not well-formed XML")) {
            try CompleteMultipartUploadResult.parse(Data())
        }
        #expect(throws: S3Error.self) {
            try ListPartsResult.parse(data("<ListPartsResult><Part><PartNumber>x</PartNumber></Part></ListPartsResult>"))
        }
        #expect(S3ErrorResponse.parse(data("<html><body>502 Bad Gateway</body></html>")) == nil)
        #expect(S3ErrorResponse.parse(data("")) == nil)
    }

    @Test func errorResponseFromMoto() {
        let xml =
            #"<?xml version="1.0" encoding="utf-8"?>"#
            + #"<Error><Code>NoSuchUpload</Code><Message>The specified upload does not exist.</Message>"#
            + #"<UploadId>bogus</UploadId><RequestId>TOPk45</RequestId><HostId>9Gjj</HostId></Error>"#
        #expect(
            S3ErrorResponse.parse(data(xml))
                == S3ErrorResponse(
                    code: "NoSuchUpload", message: "The specified upload does not exist.", uploadId: "bogus",
                    requestId: "TOPk45"))
    }

    @Test func completeBodySortsAndEscapes() throws {
        let xml = CompleteMultipartUploadBody.xml(parts: [
            CompletedPart(number: 3, etag: "\"c\""), CompletedPart(number: 1, etag: "\"a&<b>'\""),
            CompletedPart(number: 2, etag: "\"b\"", checksumCRC32: "DUoRhQ=="),
        ])
        #expect(xml.contains("<ETag>&quot;b&quot;</ETag><ChecksumCRC32>DUoRhQ==</ChecksumCRC32></Part>"))
        #expect(xml.contains("<Part><PartNumber>1</PartNumber><ETag>&quot;a&amp;&lt;b&gt;&apos;&quot;</ETag></Part>"))
        let root = try #require(S3XMLElement.parse(data(xml)))
        #expect(root.name == "CompleteMultipartUpload")
        #expect(root.children("Part").compactMap { $0.int("PartNumber") } == [1, 2, 3])
        #expect(root.children("Part").compactMap { $0.text("ETag") } == ["\"a&<b>'\"", "\"b\"", "\"c\""])
    }
}
