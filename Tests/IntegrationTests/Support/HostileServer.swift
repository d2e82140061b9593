import Foundation
import RayBridgeTestKit

#if canImport(Glibc)
import Glibc
#endif

/// scripts/hostile_server.py: answers with the request's headers echoed, or redirects elsewhere;
/// logs every request it gets.
final class HostileServer {
    let port: Int
    let logPath: String
    private let process = Process()

    init(port: Int, mode: [String]) async throws {
        self.port = port
        logPath = NSTemporaryDirectory() + "raybridge-hostile-\(port).log"
        try? FileManager.default.removeItem(atPath: logPath)
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        (process.executableURL, process.arguments) = ChildProcess.launch(
            RepositoryLayout.venvPython, [TestEnvironment.script("hostile_server.py"), "--port", "\(port)", "--log", logPath] + mode)
        try process.run()
        do {
            try await LoopbackPort.waitUntilAccepting(port, what: "the hostile server")
        } catch {
            stop()
            throw error
        }
    }

    var url: String { "http://127.0.0.1:\(port)" }
    var requests: [String] { ((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init) }

    /// Also removes its log from the temp directory: the tests have read it by now.
    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: logPath)
    }
}
