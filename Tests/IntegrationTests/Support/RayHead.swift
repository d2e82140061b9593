import Foundation
import RayBridge
import RayBridgeClients
import RayBridgeCore

/// The local Ray head (scripts/ray-head.sh), and raybridge's own client pointed at it.
enum RayHead {
    enum Mode: Equatable {
        case open
        case token(String)
    }

    static func ensure(_ mode: Mode) async throws {
        var args = [TestEnvironment.script("ray-head.sh"), "start"]
        if case .token(let token) = mode { args += ["--token", token] }
        let (status, output) = try await AccessGate.serviceStarts.holding(.exclusive) { [args] in try await TestEnvironment.shell(args) }
        guard status == 0 else {
            throw TestFailure("could not start the Ray head (\(args.joined(separator: " "))):\n\(output.suffix(4000))")
        }
    }

    static func stop() async throws {
        let (status, output) = try await AccessGate.serviceStarts.holding(.exclusive) {
            try await TestEnvironment.shell([TestEnvironment.script("ray-head.sh"), "stop"])
        }
        guard status == 0 else { throw TestFailure("could not stop the Ray head:\n\(output.suffix(4000))") }
    }

    /// Runs `body` against a head in `mode`, and leaves an open head behind however it ends, for
    /// the tests after it (a `defer` cannot wait for the restart).
    static func with<T>(_ mode: Mode, _ body: () async throws -> T) async throws -> T {
        try await ensure(mode)
        defer { if case .token(let token) = mode { try? FileManager.default.removeItem(atPath: tokenDirectory(token)) } }
        return try await openAfter(body)
    }

    /// Where `client(token:)` keeps a token, one directory per token, removed by `with`.
    private static func tokenDirectory(_ token: String) -> String {
        NSTemporaryDirectory() + "raybridge-it-token-\(token.filter { $0.isLetter || $0.isNumber || $0 == "-" })"
    }

    /// Runs `body` with the head stopped, and starts an open one again however it ends.
    static func whileStopped<T>(_ body: () async throws -> T) async throws -> T {
        try await stop()
        return try await openAfter(body)
    }

    private static func openAfter<T>(_ body: () async throws -> T) async throws -> T {
        let result: T
        do {
            result = try await body()
        } catch {
            try? await ensure(.open)
            throw error
        }
        try await ensure(.open)
        return result
    }

    static func client(token: String? = nil) throws -> RayClient {
        var credentials = RayCredentials(directory: nil)
        if let token {
            let dir = tokenDirectory(token)
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try token.write(toFile: dir + "/token", atomically: true, encoding: .utf8)
            credentials = RayCredentials(directory: dir)
        }
        return RayClient(baseURL: URL(string: TestEnvironment.rayURL)!, credentials: credentials)
    }

    /// The running head's Ray release (`make compat` runs the suites against several).
    static func version(token: String? = nil) async throws -> RayVersion {
        guard let version = try await client(token: token).version() else { throw TestFailure("Ray's /api/version names no release") }
        return version
    }

    /// The cluster's submissions made for `jobName`, found by raybridge's metadata.
    static func submissions(of jobName: String, token: String? = nil) async throws -> [RayJobDetails] {
        try await client(token: token).jobs().filter { $0.metadata?["raybridge.job"] == jobName }
            .sorted { Int($0.metadata?["raybridge.sequence"] ?? "0") ?? 0 < Int($1.metadata?["raybridge.sequence"] ?? "0") ?? 0 }
    }
}
