import AsyncHTTPClient
import Logging
import NIOCore
import NIOHTTP1
import RayBridgeCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The S3 calls raybridge makes, path-style, signed with SigV4. Each call is sent once: the caller
/// decides about retrying (`S3Error.isRetryable`), so that a call is never retried at two levels.
public struct S3Client: Sendable {
    public var endpoint: URL
    public var region: String
    /// Path style or virtual-hosted (`s3.addressingStyle`).
    public var addressingStyle: S3AddressingStyle = .auto
    public var credentials: any S3CredentialProvider
    private let http: HTTPClient
    /// Extra trust roots for an https endpoint; nil: the system's only.
    private let trust: TrustRoots?
    private let timeout: TimeAmount
    /// Signs the payload's SHA-256 over https too (`RAYBRIDGE_S3_SIGN_PAYLOAD=1`): only for
    /// `make bench` to measure what UNSIGNED-PAYLOAD saves.
    public var signsPayload = false

    public init(
        endpoint: URL, region: String, credentials: any S3CredentialProvider,
        http: HTTPClient = .shared, trust: TrustRoots? = nil, timeout: TimeAmount = .seconds(60)
    ) {
        self.endpoint = endpoint
        self.trust = trust
        self.region = region
        self.credentials = credentials
        self.http = http
        self.timeout = timeout
    }

    public init(
        settings: S3Settings, credentials: any S3CredentialProvider, http: HTTPClient = .shared, trust: TrustRoots? = nil
    ) {
        self.init(endpoint: settings.endpoint, region: settings.region, credentials: credentials, http: http, trust: trust)
        addressingStyle = settings.addressingStyle
    }

    // MARK: Objects

    public func getObject(bucket: String, key: String, maxBytes: Int = 64 << 20) async throws(S3Error) -> Data {
        try await send(.GET, bucket: bucket, key: key, maxBytes: maxBytes).body
    }

    /// A GET with conditions: `range` as S3 takes it (`bytes=-65536`: the last bytes), `ifMatch`
    /// an ETag read before, so that every piece comes from the same version of the object.
    public func getObject(
        bucket: String, key: String, range: String?, ifMatch: String?, maxBytes: Int
    ) async throws(S3Error) -> Response {
        try await send(.GET, bucket: bucket, key: key, headers: conditions(range: range, ifMatch: ifMatch), maxBytes: maxBytes)
    }

    /// The object's bytes as they arrive, for an object too large to hold (a working directory
    /// zip of up to 100 MiB). Reading the body is the caller's, and so are its errors.
    public func streamObject(bucket: String, key: String, ifMatch: String?) async throws(S3Error) -> HTTPClientResponse.Body {
        try await exchange(.GET, bucket: bucket, key: key, headers: conditions(range: nil, ifMatch: ifMatch)).body
    }

    private func conditions(range: String?, ifMatch: String?) -> [(String, String)] {
        (range.map { [("range", $0)] } ?? []) + (ifMatch.map { [("if-match", $0)] } ?? [])
    }

    public func putObject(bucket: String, key: String, body: ByteBuffer, contentType: String = "text/plain; charset=utf-8") async throws(S3Error) {
        _ = try await send(.PUT, bucket: bucket, key: key, body: body, checksum: S3Checksum.crc32(body), headers: [("content-type", contentType)])
    }

    // MARK: Multipart

    /// `checksummed`: every part will carry a CRC-32 (`uploadPart(checksumCRC32:)`), as S3 then requires.
    public func createMultipartUpload(
        bucket: String, key: String, contentType: String = "text/plain; charset=utf-8", checksummed: Bool = true
    ) async throws(S3Error) -> String {
        var headers = [("content-type", contentType)]
        if checksummed { headers.append(("x-amz-checksum-algorithm", S3Checksum.algorithm)) }
        let response = try await send(.POST, bucket: bucket, key: key, query: [("uploads", "")], headers: headers)
        return try InitiateMultipartUploadResult.parse(response.body).uploadId
    }

    /// Returns the part's ETag, quotes included, as Complete wants it back. `checksumCRC32`
    /// (`S3Checksum.crc32`) when the upload was created `checksummed`.
    public func uploadPart(
        bucket: String, key: String, uploadId: String, partNumber: Int, body: ByteBuffer, checksumCRC32: String?
    ) async throws(S3Error) -> String {
        let response = try await send(
            .PUT, bucket: bucket, key: key, query: [("partNumber", String(partNumber)), ("uploadId", uploadId)], body: body,
            checksum: checksumCRC32)
        guard let etag = response.headers.first(name: "etag") else {
            throw .malformedResponse("UploadPart \(partNumber) answered without an ETag")
        }
        return etag
    }

    public func completeMultipartUpload(bucket: String, key: String, uploadId: String, parts: [CompletedPart]) async throws(S3Error) {
        let xml = CompleteMultipartUploadBody.xml(parts: parts)
        let response = try await send(
            .POST, bucket: bucket, key: key, query: [("uploadId", uploadId)], body: ByteBuffer(string: xml),
            headers: [("content-type", "application/xml")])
        // S3 may answer 200 and still fail: the error is then in the body.
        _ = try CompleteMultipartUploadResult.parse(response.body)
    }

    /// Every part of an upload, following the pages.
    public func listParts(bucket: String, key: String, uploadId: String) async throws(S3Error) -> [ListPartsResult.Part] {
        var parts: [ListPartsResult.Part] = []
        var marker: Int?
        while true {
            var query = [("uploadId", uploadId)]
            if let marker { query.append(("part-number-marker", String(marker))) }
            let page = try ListPartsResult.parse(try await send(.GET, bucket: bucket, key: key, query: query).body)
            parts += page.parts
            guard page.isTruncated, let next = page.nextPartNumberMarker, next != marker else { break }
            marker = next
        }
        return parts
    }

    // MARK: Transport

    public struct Response: Sendable {
        public var status: Int
        public var headers: HTTPHeaders
        public var body: Data
    }

    func url(bucket: String, key: String?, query: [(String, String)]) -> URL {
        var text = endpoint.absoluteString
        while text.hasSuffix("/") { text.removeLast() }
        let secure = endpoint.scheme?.lowercased() == "https"
        if let host = endpoint.host(percentEncoded: true), addressingStyle.virtualHosted(bucket: bucket, host: host, secure: secure),
            let range = text.firstRange(of: "://")
        {
            // The bucket becomes the first label of the host name; the path is the key alone.
            text.insert(contentsOf: bucket + ".", at: range.upperBound)
            text += "/" + (key.map(S3Path.encode(key:)) ?? "")
        } else {
            text += "/" + S3Path.encode(component: bucket)
            if let key { text += "/" + S3Path.encode(key: key) }
        }
        if !query.isEmpty {
            text +=
                "?"
                + query.map { $0.1.isEmpty && $0.0 == "uploads" ? $0.0 : "\(S3Path.encode(component: $0.0))=\(S3Path.encode(component: $0.1))" }
                .joined(separator: "&")
        }
        return URL(string: text)!
    }

    private func send(
        _ method: HTTPMethod, bucket: String, key: String?, query: [(String, String)] = [], body: ByteBuffer? = nil,
        checksum: String? = nil, headers extra: [(String, String)] = [], maxBytes: Int = 16 << 20
    ) async throws(S3Error) -> Response {
        let response = try await exchange(method, bucket: bucket, key: key, query: query, body: body, checksum: checksum, headers: extra)
        let bytes: ByteBuffer
        do {
            bytes = method == .HEAD ? ByteBuffer() : try await response.body.collect(upTo: maxBytes)
        } catch {
            throw .unreachable(
                endpoint: endpoint.absoluteString, reason: TransportFailure.tlsProblem(error, url: endpoint) ?? TransportFailure.describe(error))
        }
        return Response(status: Int(response.status.code), headers: response.headers, body: Data(bytes.readableBytesView))
    }

    /// Signs and sends one request; an error status is thrown with its body read, a success is
    /// returned with its body still to be read.
    private func exchange(
        _ method: HTTPMethod, bucket: String, key: String?, query: [(String, String)] = [], body: ByteBuffer? = nil,
        checksum: String? = nil, headers extra: [(String, String)] = []
    ) async throws(S3Error) -> HTTPClientResponse {
        let url = self.url(bucket: bucket, key: key, query: query)
        let creds: S3Credentials
        do { creds = try await credentials.credentials() } catch { throw .credentials(error.description) }
        var headers: [(name: String, value: String)] = extra.map { (name: $0.0, value: $0.1) }
        if let checksum { headers.append((name: S3Checksum.header, value: checksum)) }
        let payloadHash: String
        if checksum != nil, !signsPayload, url.scheme?.lowercased() == "https" {
            // As the AWS SDKs: TLS protects the body on the wire and S3 checks the CRC-32, so the
            // SHA-256 of every part (15 % of the log's CPU) is not needed.
            payloadHash = SigV4Signer.unsignedPayload
        } else {
            payloadHash = body.map { $0.withUnsafeReadableBytes { SigV4Signer.sha256Hex($0) } } ?? SigV4Signer.sha256Hex(Data())
        }
        headers += SigV4Signer(credentials: creds, region: region).sign(
            method: method.rawValue, url: url, headers: headers, payloadSHA256Hex: payloadHash, date: Date())
        var request: HTTPClientRequest
        do {
            request = try .raybridge(method, url: url.absoluteString, trust: trust)
        } catch {
            throw .unreachable(endpoint: endpoint.absoluteString, reason: error.description)
        }
        for header in headers { request.headers.add(name: header.name, value: header.value) }
        if let body {
            request.body = .bytes(body)
        } else if method == .PUT || method == .POST {
            request.headers.add(name: "Content-Length", value: "0")
        }
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: timeout)
        } catch {
            throw .unreachable(
                endpoint: endpoint.absoluteString, reason: TransportFailure.tlsProblem(error, url: endpoint) ?? TransportFailure.describe(error))
        }
        let status = Int(response.status.code)
        guard (200..<300).contains(status) else {
            // An error body is small; a HEAD has none.
            let data = method == .HEAD ? Data() : Data(((try? await response.body.collect(upTo: 1 << 20)) ?? ByteBuffer()).readableBytesView)
            var parsed = S3ErrorResponse.parse(Self.shownErrorBody(data, credentials: creds))
            // A bucket in another region: S3 names its region in this header (a 301 or a HEAD has
            // no body to say it in).
            if let bucketRegion = response.headers.first(name: "x-amz-bucket-region") {
                if parsed == nil { parsed = S3ErrorResponse(code: status == 301 ? "PermanentRedirect" : "") }
                if parsed?.region == nil { parsed?.region = bucketRegion }
            }
            throw .service(status: status, response: parsed, bucket: bucket, key: key)
        }
        return response
    }

    /// An error body may echo the request (signature, key, token): shown only redacted, and the
    /// access key id (some S3s name it in InvalidAccessKeyId's message) as `S3Credentials.masked`.
    static func shownErrorBody(_ data: Data, credentials: S3Credentials) -> Data {
        let secrets = [credentials.secretAccessKey] + (credentials.sessionToken.map { [$0] } ?? [])
        var text = SecretRedaction.redact(String(decoding: data, as: UTF8.self), secrets: secrets)
        if !credentials.accessKeyId.isEmpty {
            text = text.replacing(credentials.accessKeyId, with: S3Credentials.masked(accessKeyId: credentials.accessKeyId))
        }
        return Data(text.utf8)
    }
}

/// The S3 calls that shipping a log needs: what `MultipartUploadSession` depends on, so that it can
/// be tested against a fake S3. Each call is made once: retrying is the caller's decision.
public protocol S3Multipart: Sendable {
    func putObject(bucket: String, key: String, body: ByteBuffer, contentType: String) async throws(S3Error)
    /// Returns the upload id. `checksummed`: every part carries a CRC-32.
    func createMultipartUpload(bucket: String, key: String, contentType: String, checksummed: Bool) async throws(S3Error) -> String
    /// Returns the part's ETag, quotes included, as Complete wants it back.
    func uploadPart(
        bucket: String, key: String, uploadId: String, partNumber: Int, body: ByteBuffer, checksumCRC32: String?
    ) async throws(S3Error) -> String
    func completeMultipartUpload(bucket: String, key: String, uploadId: String, parts: [CompletedPart]) async throws(S3Error)
    /// Every part of an upload, following the pages.
    func listParts(bucket: String, key: String, uploadId: String) async throws(S3Error) -> [ListPartsResult.Part]
}

extension S3Client: S3Multipart {}
