import Foundation

/// A command run to its end without holding a thread while it runs.
///
/// The test runner's cooperative pool has one thread per core, two in CI. A `waitUntilExit()`
/// (or a blocking read of a pipe) on one of them stalls every other test's timers and sleeps for
/// as long as the child runs: CI once saw a Python oracle and a Ray head's start hold both threads
/// for 7 s, and two timing tests that had nothing to do with them failed.
///
/// Foundation's `terminationHandler` already waits without a pool thread; swift-subprocess 1.0.2
/// (a monitor thread on pidfds) measured the same: six 1 s children at once, a 20 ms timer on the
/// pool never more than 0.2 ms late with either. It would add a package (10-11 s to a cold build)
/// to gain only signal-or-exit-code status, so it is not used.
public struct ChildProcess: Sendable {
    public let status: Int32
    /// Standard output, and standard error too unless it was kept apart.
    public let output: Data

    public var text: String { String(decoding: output, as: UTF8.self) }

    /// Runs `arguments` through `/usr/bin/env` (so the first word is looked up in `PATH`), with the
    /// test's environment plus `environment`, no standard input, and the output in a file rather
    /// than a pipe so that nothing can block on a full pipe buffer.
    public static func run(
        _ arguments: [String], environment: [String: String] = [:], standardErrorToo: Bool = true
    ) async throws -> ChildProcess {
        let outputPath = NSTemporaryDirectory() + "raybridge-child-\(UUID().uuidString.prefix(8)).out"
        guard FileManager.default.createFile(atPath: outputPath, contents: nil) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: outputPath])
        }
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        defer { try? output.close() }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = output
        process.standardError = standardErrorToo ? output : FileHandle.standardError
        process.standardInput = FileHandle.nullDevice
        let status = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Int32, any Error>) in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
        return ChildProcess(status: status, output: try Data(contentsOf: URL(fileURLWithPath: outputPath)))
    }
}
