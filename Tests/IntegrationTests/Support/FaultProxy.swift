import Foundation
import RayBridgeTestKit

#if canImport(Glibc)
import Glibc
#endif

/// scripts/fault_proxy.py in front of moto (or Ray): passes requests through, or fails them on
/// demand; every request is logged.
final class FaultProxy {
    let port: Int
    let flag: String
    let logPath: String
    private let process = Process()

    init(port: Int, upstream: String = S3Server.endpoint) async throws {
        self.port = port
        flag = NSTemporaryDirectory() + "raybridge-fault-\(port)"
        logPath = NSTemporaryDirectory() + "raybridge-fault-\(port).log"
        try? FileManager.default.removeItem(atPath: flag)
        try? FileManager.default.removeItem(atPath: logPath)
        (process.executableURL, process.arguments) = ChildProcess.launch(
            RepositoryLayout.venvPython,
            [TestEnvironment.script("fault_proxy.py"), "--port", "\(port)", "--upstream", upstream, "--fail-flag", flag, "--log", logPath])
        try process.run()
        do {
            try await LoopbackPort.waitUntilAccepting(port, what: "the fault proxy")
        } catch {
            stop()
            throw error
        }
    }

    var url: String { "http://127.0.0.1:\(port)" }

    /// `how`: `503` or `refuse`, then optionally a path regex and how many requests to fail.
    func fail(_ how: String) throws { try how.write(toFile: flag, atomically: true, encoding: .utf8) }

    /// The requests seen, as `METHOD PATH STATUS` lines.
    var requests: [String] {
        ((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    func heal() { try? FileManager.default.removeItem(atPath: flag) }

    /// Also removes its files from the temp directory: the tests have read them by now.
    func stop() {
        heal()
        // SIGKILL: a test runner may pass on an ignored SIGTERM to its children.
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: logPath)
    }
}
