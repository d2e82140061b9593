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

    /// What to give a `Process` so that the child starts with every signal unblocked and at its
    /// default action, as a shell or a container runtime would start it: `/usr/bin/env
    /// --default-signal`, which then runs `executable`. The test runner's threads (libdispatch's
    /// and NIO's) block SIGTERM and most other signals, a `Process` hands that mask on, and all
    /// that the child starts inherits it. A Ray head restarted by a test had SIGTERM blocked in
    /// every job's driver: Ray's stop of a job sat out its 3 s grace and then killed it, so a
    /// 5 s deadline ended the run after 8 s.
    public static func launch(_ executable: String, _ arguments: [String]) -> (executableURL: URL, arguments: [String]) {
        (URL(fileURLWithPath: "/usr/bin/env"), ["--default-signal", executable] + arguments)
    }

    /// Runs `arguments` through `/usr/bin/env` (so the first word is looked up in `PATH`; `launch`), with the
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
        (process.executableURL, process.arguments) = launch(arguments[0], Array(arguments.dropFirst()))
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
