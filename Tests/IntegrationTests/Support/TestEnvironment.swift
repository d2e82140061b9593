import Foundation
import RayBridgeTestKit

/// Where things are, and the real services the tests run against. Nothing is mocked: if Ray
/// cannot be started the test fails, loudly.
enum TestEnvironment {
    static var repoRoot: URL { RepositoryLayout.root }

    static var binary: String {
        if let path = ProcessInfo.processInfo.environment["RAYBRIDGE_BIN"] { return path }
        return RepositoryLayout.path(".build/debug/raybridge")
    }

    static let rayPort = Int(ProcessInfo.processInfo.environment["RAY_DASHBOARD_PORT"] ?? "8265") ?? 8265
    static var rayURL: String { "http://127.0.0.1:\(rayPort)" }

    static func script(_ name: String) -> String {
        RepositoryLayout.path("scripts/\(name)")
    }

    static func app(_ name: String) throws -> String {
        try String(contentsOfFile: RepositoryLayout.path("examples/apps/\(name)"), encoding: .utf8)
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

    /// Runs a command to its end, without holding one of the test runner's threads meanwhile
    /// (`ChildProcess`). Output goes through a file, not a pipe: a service the command starts in
    /// the background would hold a pipe open forever.
    @discardableResult
    static func shell(_ arguments: [String], environment: [String: String] = [:]) async throws -> (status: Int32, output: String) {
        let child = try await ChildProcess.run(arguments, environment: environment)
        return (child.status, child.text)
    }
}
