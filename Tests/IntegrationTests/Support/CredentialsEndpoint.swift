import Foundation
import RayBridgeTestKit

#if canImport(Glibc)
import Glibc
#endif

/// scripts/credentials_endpoint.py: the container credentials endpoint, or the way to moto's STS
/// for AssumeRoleWithWebIdentity, handing out credentials of the real moto STS that expire after
/// `lifetime` seconds. Fails on demand; logs every answer with the values it issued.
final class CredentialsEndpoint {
    enum Mode: String { case container, sts }

    static let roleArn = "arn:aws:iam::123456789012:role/raybridge-logs"

    let port: Int
    let tokenFile: String
    let flag: String
    let logPath: String
    private let process = Process()

    init(_ mode: Mode, port: Int, token: String, lifetime: Int = 20) async throws {
        self.port = port
        let base = NSTemporaryDirectory() + "raybridge-credentials-\(port)"
        tokenFile = base + ".token"
        flag = base + ".fail"
        logPath = base + ".log"
        for path in [flag, logPath] { try? FileManager.default.removeItem(atPath: path) }
        try token.write(toFile: tokenFile, atomically: true, encoding: .utf8)
        (process.executableURL, process.arguments) = ChildProcess.launch(
            RepositoryLayout.venvPython,
            [
                TestEnvironment.script("credentials_endpoint.py"), "--mode", mode.rawValue, "--port", "\(port)",
                "--upstream", "http://\(S3Server.endpoint)", "--credentials-dir", S3Server.credentialsDirectory, "--token-file", tokenFile,
                "--lifetime", "\(lifetime)", "--fail-flag", flag, "--log", logPath,
            ])
        try process.run()
        do {
            try await LoopbackPort.waitUntilAccepting(port, what: "the credentials endpoint")
        } catch {
            stop()
            throw error
        }
    }

    var url: String { "http://127.0.0.1:\(port)" }

    /// Every answer so far: `status`, and for 200 the issued `accessKeyId`, `secret`,
    /// `sessionToken` (and `webIdentityToken` for STS).
    var answers: [[String: String]] {
        ((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "").split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
            return object.mapValues { "\($0)" }
        }
    }

    var issued: [[String: String]] { answers.filter { $0["status"] == "200" } }

    func fail() throws { try "fail".write(toFile: flag, atomically: true, encoding: .utf8) }
    func heal() { try? FileManager.default.removeItem(atPath: flag) }

    /// Also removes its files from the temp directory: the tests have read them by now.
    func stop() {
        heal()
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        for path in [logPath, tokenFile] { try? FileManager.default.removeItem(atPath: path) }
    }
}
