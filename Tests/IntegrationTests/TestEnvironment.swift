import AsyncHTTPClient
import Foundation
import RayBridge
import RayBridgeClients
import RayBridgeCore
import Testing

/// Where things are, and the real services the tests run against. Nothing is mocked: if Ray
/// cannot be started the test fails, loudly.
enum TestEnvironment {
    static let repoRoot: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var binary: String {
        if let path = ProcessInfo.processInfo.environment["RAYBRIDGE_BIN"] { return path }
        return repoRoot.appendingPathComponent(".build/debug/raybridge").path
    }

    static let rayPort = Int(ProcessInfo.processInfo.environment["RAY_DASHBOARD_PORT"] ?? "8265") ?? 8265
    static var rayURL: String { "http://127.0.0.1:\(rayPort)" }

    static func script(_ name: String) -> String {
        repoRoot.appendingPathComponent("scripts/\(name)").path
    }

    static func app(_ name: String) throws -> String {
        let url = repoRoot.appendingPathComponent("examples/apps/\(name)")
        return try String(contentsOf: url, encoding: .utf8)
    }

    /// A fresh temp directory, removed by the caller's `defer`.
    static func temporaryDirectory(_ label: String) throws -> String {
        let path = NSTemporaryDirectory() + "raybridge-it-\(label)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// A job name no other test (or earlier run against the same cluster) uses.
    static func uniqueJobName(_ label: String) -> String {
        "it-\(label)-\(UUID().uuidString.prefix(6).lowercased())"
    }

    /// Runs a command to its end. Output goes through a file, not a pipe: a service the command
    /// starts in the background would hold a pipe open forever.
    @discardableResult
    static func shell(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
        let outputPath = NSTemporaryDirectory() + "raybridge-shell-\(UUID().uuidString.prefix(8)).log"
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try? output.close()
        return (process.terminationStatus, (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "")
    }
}

enum RayHead {
    enum Mode: Equatable { case open, token(String) }

    static func ensure(_ mode: Mode) throws {
        var args = [TestEnvironment.script("ray-head.sh"), "start"]
        if case .token(let token) = mode { args += ["--token", token] }
        let (status, output) = try TestEnvironment.shell(args)
        guard status == 0 else {
            throw TestFailure("could not start the Ray head (\(args.joined(separator: " "))):\n\(output.suffix(4000))")
        }
    }

    static func stop() throws {
        let (status, output) = try TestEnvironment.shell([TestEnvironment.script("ray-head.sh"), "stop"])
        guard status == 0 else { throw TestFailure("could not stop the Ray head:\n\(output.suffix(4000))") }
    }

    static func client(token: String? = nil) throws -> RayClient {
        var credentials = RayCredentials(directory: nil)
        if let token {
            let dir = try TestEnvironment.temporaryDirectory("token")
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

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
