import Foundation
import RayBridgeTestKit

#if canImport(Glibc)
import Glibc
#endif

/// The real `raybridge run` binary as a child process, its log kept in a file for failures.
final class SidecarProcess {
    let process = Process()
    let logPath: String
    let statusDir: String

    /// `stdoutPath`: standard output goes there (appended), apart from the log on standard error.
    init(
        configDir: String, statusDir: String, jobName: String, rayCredentialsDir: String? = nil,
        arguments: [String] = [], environment: [String: String] = [:], stdoutPath: String? = nil
    ) throws {
        self.statusDir = statusDir
        logPath = statusDir + ".sidecar.log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        log.seekToEndOfFile()
        // Through `env --default-signal`, as a container runtime would start it (`ChildProcess.launch`).
        (process.executableURL, process.arguments) = ChildProcess.launch(
            TestEnvironment.binary,
            [
                "run", "--config-dir", configDir, "--status-dir", statusDir, "--job-name", jobName,
                "--ray-credentials-dir", rayCredentialsDir ?? "/nonexistent-ray-credentials",
                "--s3-credentials-dir", "/nonexistent-s3-credentials",
            ] + arguments)
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "RAYBRIDGE_TEST_CRASH_AT")
        process.environment = env.merging(environment) { $1 }
        if let stdoutPath {
            if !FileManager.default.fileExists(atPath: stdoutPath) { _ = FileManager.default.createFile(atPath: stdoutPath, contents: nil) }
            let out = try FileHandle(forWritingTo: URL(fileURLWithPath: stdoutPath))
            out.seekToEndOfFile()
            process.standardOutput = out
        } else {
            process.standardOutput = log
        }
        process.standardError = log
        guard FileManager.default.isExecutableFile(atPath: TestEnvironment.binary) else {
            throw TestFailure("\(TestEnvironment.binary) is missing: run `swift build` first (make test does)")
        }
        try process.run()
    }

    /// A failed test must not leave a sidecar behind.
    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    func signal(_ signal: Int32) {
        if process.isRunning { kill(process.processIdentifier, signal) }
    }

    /// Waits for the process to end; nil on timeout.
    func waitForExit(timeout: Duration = .seconds(30)) async -> Int32? {
        try? await eventually("the sidecar's exit", timeout: timeout, every: .milliseconds(50)) { !process.isRunning }
        return process.isRunning ? nil : process.terminationStatus
    }

    func stop() async {
        signal(SIGTERM)
        if await waitForExit(timeout: .seconds(10)) == nil {
            signal(SIGKILL)
            _ = await waitForExit(timeout: .seconds(5))
        }
    }

    func sigkill() async {
        signal(SIGKILL)
        _ = await waitForExit(timeout: .seconds(5))
    }

    /// Reads the status directory until `predicate` holds, and returns what it read then.
    @discardableResult
    func waitForStatus(
        timeout: Duration = .seconds(120), _ what: String, _ predicate: ([String: String]) -> Bool
    ) async throws -> [String: String] {
        var status: [String: String] = [:]
        let detail = { "status: \(status.filter { $0.key != "status.json" })\nsidecar log:\n\(self.log.suffix(6000))" }
        try await eventually(what, timeout: timeout, every: .milliseconds(100), detail: detail) {
            status = StatusDirectory.read(statusDir)
            return predicate(status)
        }
        return status
    }
}
