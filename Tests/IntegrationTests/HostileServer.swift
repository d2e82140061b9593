import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// scripts/hostile_server.py: answers with the request's headers echoed, or redirects elsewhere;
/// logs every request it gets.
final class HostileServer {
    let port: Int
    let logPath: String
    private let process = Process()

    init(port: Int, mode: [String]) throws {
        self.port = port
        logPath = NSTemporaryDirectory() + "raybridge-hostile-\(port).log"
        try? FileManager.default.removeItem(atPath: logPath)
        FileManager.default.createFile(atPath: logPath, contents: nil)
        process.executableURL = TestEnvironment.repoRoot.appendingPathComponent(".venv/bin/python")
        process.arguments = [TestEnvironment.script("hostile_server.py"), "--port", "\(port)", "--log", logPath] + mode
        try process.run()
        for _ in 0..<100 {
            if (try? TestEnvironment.shell(["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/\(port)"]).status) == 0 { return }
            Thread.sleep(forTimeInterval: 0.1)
        }
        stop()
        throw TestFailure("the hostile server did not start on port \(port)")
    }

    var url: String { "http://127.0.0.1:\(port)" }
    var requests: [String] { ((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init) }

    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}
