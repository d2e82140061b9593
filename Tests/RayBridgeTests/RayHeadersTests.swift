import AsyncHTTPClient
import Foundation
import NIOHTTP1
import RayBridgeTestKit
import Testing

@testable import RayBridgeClients

#if canImport(Glibc)
import Glibc
#endif

/// `--ray-headers-file`: its format, its re-reading, the requests built with it, and that no value
/// from it is ever shown.
@Suite struct RayHeadersTests {
    static let secret = "s3cr3t-Pr0xy-Value"

    private func parse(_ text: String) throws(RayHeadersFormat.Problem) -> [RayHeader] {
        try RayHeadersFormat.parse(Array(text.utf8))
    }

    private func problem(_ text: String) -> String? {
        do {
            _ = try parse(text)
            return nil
        } catch {
            return error.reason
        }
    }

    @Test func readsNamesAndValuesSkippingBlanksAndComments() throws {
        let text = """
            \u{FEFF}# the proxy's credentials
            X-Proxy-Auth: \(Self.secret)\r

              \t# indented comment
            Cookie:  session=a:b; other=c=d \t
            authorization:Basic dXNlcjpwYXNz
            X-Tab:\ta\tb
            """
        #expect(
            try parse(text) == [
                RayHeader(name: "X-Proxy-Auth", value: Self.secret),
                RayHeader(name: "Cookie", value: "session=a:b; other=c=d"),
                RayHeader(name: "authorization", value: "Basic dXNlcjpwYXNz"),
                RayHeader(name: "X-Tab", value: "a\tb"),
            ])
        #expect(try parse("").isEmpty)
        #expect(try parse("\n# only a comment\n\n").isEmpty)
        #expect(try parse("X-A: #not a comment") == [RayHeader(name: "X-A", value: "#not a comment")])
    }

    @Test(arguments: [
        ("X-A: 1\n\(secret)\n", "line 2 is not \"Name: value\" (it has no ':')"),
        ("X A: \(secret)", "line 1: the text before the first ':' is not a header name"),
        (": \(secret)", "line 1: the text before the first ':' is not a header name"),
        ("X-A : \(secret)", "line 1: the text before the first ':' is not a header name"),
        ("\(secret)\u{e9}: x", "line 1: the text before the first ':' is not a header name"),
        ("X-A:   \n", "line 1: X-A has no value"),
        ("X-A: 1\nx-a: \(secret)", "line 2: x-a is set already on line 1"),
        ("X-A: \(secret)\u{1}", "line 1: the value of X-A has a character a header cannot carry"),
        ("X-A: \(secret)\u{e9}", "line 1: the value of X-A has a character a header cannot carry"),
        ("X-A: \(secret)\rX", "line 1: the value of X-A has a character a header cannot carry"),
        ("user-agent: \(secret)", "line 1: User-Agent cannot be set in the headers file"),
        ("Host: \(secret)", "line 1: Host cannot be set in the headers file"),
        ("CONTENT-TYPE: \(secret)", "line 1: Content-Type cannot be set in the headers file"),
        ("Transfer-Encoding: \(secret)", "line 1: Transfer-Encoding cannot be set"),
        ("Accept-Encoding: gzip", "line 1: Accept-Encoding cannot be set"),
        ("X-Ray-Authorization: Bearer \(secret)", "line 1: X-Ray-Authorization cannot be set in the headers file: it carries the Ray token"),
        ("Sec-Fetch-Mode: cors", "line 1: Sec-Fetch-Mode cannot be set in the headers file: Ray takes a request with it for a browser's"),
        ("Origin: http://x", "line 1: Origin cannot be set"),
    ])
    func aMalformedLineNamesItsNumberAndNeverItsValue(text: String, expected: String) {
        let reason = problem(text)
        #expect(reason?.hasPrefix(expected) == true, "\(reason ?? "accepted")")
        #expect(reason?.contains(Self.secret) == false)
    }

    @Test func aFileLargerThan64KiBIsRefused() {
        let big = String(repeating: "X-A: \(Self.secret)\n", count: 4000)
        #expect(problem(big) == "it is larger than 64 KiB")
    }

    // MARK: re-reading

    private func directory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("raybridge-headers-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// A Secret mounted at a directory, swapped by the kubelet's algorithm: the new content is sent
    /// with the next request, a broken one stops requests, and the fix is picked up, all without a
    /// restart and logged once per change, by name.
    @Test func aSwappedSecretIsUsedAtTheNextRequestAndEveryChangeIsLoggedOnce() throws {
        let dir = try directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let kubelet = KubeletAtomicWriter(directory: dir)
        try kubelet.write(["headers": Data("X-Proxy-Auth: old-\(Self.secret)\n".utf8)])
        let capture = LogCapture()
        let file = RayHeadersFile(path: dir + "/headers", logger: capture.logger)
        #expect(try file.headers() == [RayHeader(name: "X-Proxy-Auth", value: "old-\(Self.secret)")])
        #expect(try file.headers() == [RayHeader(name: "X-Proxy-Auth", value: "old-\(Self.secret)")])
        #expect(capture.lines.count == 1)

        try kubelet.write(["headers": Data("X-Proxy-Auth: new-\(Self.secret)\nX-Other: 2\n".utf8)])
        #expect(try file.headers() == [RayHeader(name: "X-Proxy-Auth", value: "new-\(Self.secret)"), RayHeader(name: "X-Other", value: "2")])

        try kubelet.write(["headers": Data("X-Proxy-Auth \(Self.secret)\n".utf8)])
        #expect(throws: RayHeadersFileError(file: dir + "/headers", reason: "line 1 is not \"Name: value\" (it has no ':')")) {
            try file.headers()
        }
        #expect(throws: RayHeadersFileError.self) { try file.headers() }

        try kubelet.write(["other": Data("x".utf8)])
        #expect(throws: RayHeadersFileError(file: dir + "/headers", reason: "cannot read it (No such file or directory)")) {
            try file.headers()
        }

        try kubelet.write(["headers": Data("X-Proxy-Auth: fixed-\(Self.secret)".utf8)])
        #expect(try file.headers() == [RayHeader(name: "X-Proxy-Auth", value: "fixed-\(Self.secret)")])

        let lines = capture.lines
        #expect(lines.count == 5, "\(lines)")
        #expect(lines.first?.contains("names=X-Proxy-Auth") == true)
        #expect(lines.contains { $0.contains("line 1 is not") })
        for line in lines { #expect(!line.contains(Self.secret), "\(line)") }
    }

    /// An edit in place that keeps the size and the modification time (a restored mtime, a
    /// coarse-grained file system) is still seen: the bytes are compared, not the mtime.
    @Test func anEditKeepingSizeAndModificationTimeIsSeen() throws {
        let dir = try directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/headers"
        try Data("X-Proxy-Auth: aaaa".utf8).write(to: URL(fileURLWithPath: path))
        let file = RayHeadersFile(path: path, logger: LogCapture().logger)
        #expect(try file.headers().map(\.value) == ["aaaa"])
        var before = stat()
        #expect(stat(path, &before) == 0)
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.seek(toOffset: 14)
        try handle.write(contentsOf: Data("bbbb".utf8))
        try handle.close()
        var times = [before.st_atim, before.st_mtim]
        #expect(utimensat(AT_FDCWD, path, &times, 0) == 0)
        var after = stat()
        #expect(stat(path, &after) == 0)
        #expect(after.st_mtim.tv_sec == before.st_mtim.tv_sec && after.st_mtim.tv_nsec == before.st_mtim.tv_nsec && after.st_ino == before.st_ino)
        #expect(try file.headers().map(\.value) == ["bbbb"])
    }

    // MARK: requests

    private func makeClient(token: String?, headers: String?) throws -> (RayClient, cleanup: () -> Void) {
        let dir = try directory()
        if let token { try Data(token.utf8).write(to: URL(fileURLWithPath: dir + "/token")) }
        var file: RayHeadersFile?
        if let headers {
            try Data(headers.utf8).write(to: URL(fileURLWithPath: dir + "/headers"))
            file = RayHeadersFile(path: dir + "/headers", logger: LogCapture().logger)
        }
        let client = RayClient(
            baseURL: URL(string: "http://127.0.0.1:1/ray")!, credentials: RayCredentials(directory: dir, headersFile: file))
        return (client, { try? FileManager.default.removeItem(atPath: dir) })
    }

    @Test func everyRequestCarriesTheHeadersBesideRaybridgesOwn() throws {
        let (client, cleanup) = try makeClient(token: "ray-token", headers: "X-Proxy-Auth: \(Self.secret)\nCookie: a=b\n")
        defer { cleanup() }
        let (request, sent) = try client.makeRequest(.POST, "/api/jobs/")
        #expect(request.headers["X-Proxy-Auth"] == [Self.secret])
        #expect(request.headers["Cookie"] == ["a=b"])
        #expect(request.headers["User-Agent"] == [HTTPClientFactory.userAgent])
        #expect(request.headers["Accept"] == ["application/json"])
        #expect(request.headers["Authorization"] == ["Bearer ray-token"])
        #expect(request.headers["X-Ray-Authorization"] == ["Bearer ray-token"])
        #expect(sent.token && sent.headerNames == ["X-Proxy-Auth", "Cookie"])
    }

    /// The file's Authorization is the proxy's: the Ray token then travels in X-Ray-Authorization
    /// alone, never two Authorization headers.
    @Test func anAuthorizationFromTheFileLeavesTheTokenToXRayAuthorization() throws {
        let (client, cleanup) = try makeClient(token: "ray-token", headers: "Authorization: Basic \(Self.secret)")
        defer { cleanup() }
        let (request, _) = try client.makeRequest(.GET, "/api/version")
        #expect(request.headers["Authorization"] == ["Basic \(Self.secret)"])
        #expect(request.headers["X-Ray-Authorization"] == ["Bearer ray-token"])

        let (noToken, cleanupNoToken) = try makeClient(token: nil, headers: "Authorization: Basic \(Self.secret)")
        defer { cleanupNoToken() }
        let (plain, sent) = try noToken.makeRequest(.GET, "/api/version")
        #expect(plain.headers["Authorization"] == ["Basic \(Self.secret)"])
        #expect(plain.headers["X-Ray-Authorization"].isEmpty && !sent.token)
    }

    @Test func aBrokenFileSendsNothingAndSaysWhyWithoutTheValue() throws {
        let (client, cleanup) = try makeClient(token: nil, headers: "X-Proxy-Auth: ok\n\(Self.secret)\n")
        defer { cleanup() }
        do {
            _ = try client.makeRequest(.GET, "/api/version")
            Issue.record("a request was built from a broken headers file")
        } catch {
            guard case .unusableHeaders = error else { throw error }
            #expect(error.isRetryable && error.meansUnreachable)
            #expect(error.description.contains("line 2 is not \"Name: value\""), "\(error)")
            #expect(error.description.contains("--ray-headers-file"))
            #expect(!error.description.contains(Self.secret))
        }
    }

    /// A server's answer that echoes the request (a proxy's debug page) is shown without the values.
    @Test func answersAreShownWithoutTheHeadersValues() throws {
        let (client, cleanup) = try makeClient(token: "ray-token-1234", headers: "X-Proxy-Auth: \(Self.secret)")
        defer { cleanup() }
        let echoed = Data("denied: X-Proxy-Auth=\(Self.secret) token ray-token-1234".utf8)
        let shown = client.redacted(echoed)
        #expect(!shown.contains(Self.secret) && !shown.contains("ray-token-1234"), "\(shown)")
        let refused = client.refusal(401, .init(token: false, headerNames: ["X-Proxy-Auth"]), answer: echoed)
        #expect(!refused.description.contains(Self.secret))
        #expect(refused.description.contains("refused the request (HTTP 401) with the headers X-Proxy-Auth"), "\(refused)")
    }

    @Test func aRefusalSaysWhatWasSentAndWhatToCheck() {
        let nothing = RayClientError.unauthorized(status: 401, tokenSent: false, answer: "<html> 401 Authorization Required nginx </html>")
        #expect(nothing.description.contains("requires a token (HTTP 401) and none was found"))
        #expect(nothing.description.contains("--ray-headers-file"))
        #expect(nothing.description.hasSuffix("the answer: <html> 401 Authorization Required nginx </html>"))
        let both = RayClientError.unauthorized(status: 403, tokenSent: true, headers: ["X-A", "X-B"])
        #expect(both.description.contains("with our token and the headers X-A, X-B of --ray-headers-file"))
        #expect(RayClientError.unauthorized(status: 403, tokenSent: true).description.contains("refused our token"))
    }
}
