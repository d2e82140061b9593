import Foundation
import RayBridge
import RayBridgeClients
import RayBridgeCore
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension IntegrationSuite {
    /// Ray and S3 behind a real TLS terminator (nginx) with a private CA, Ray under a path prefix
    /// as ingresses put it: the CA comes from `--ca-file`, mounted like a Secret.
    @Suite struct TLSTests {
        func sidecar(_ ws: Workspace, caDirectory: String) throws -> SidecarProcess {
            try SidecarProcess(
                configDir: ws.configDir, statusDir: ws.statusDir, jobName: ws.jobName,
                arguments: ["--s3-credentials-dir", S3Server.credentialsDirectory, "--ca-file", caDirectory + "/ca.pem"])
        }

        /// Submit, edit -> stop -> resubmit, and the log to S3 byte-exact, all through TLS, Ray under `/ray/`.
        @Test func behindAPrefixWithAPrivateCAEditsResubmitAndTheLogIsByteExact() async throws {
            try await RayHead.ensure(.open)
            try await S3Server.ensure()
            try await TLSProxy.ensure()
            let ws = try Workspace("tls")
            let caDirectory = try TestEnvironment.temporaryDirectory("tls-ca")
            defer {
                ws.cleanup()
                try? FileManager.default.removeItem(atPath: caDirectory)
            }
            _ = try TLSProxy.mountedCA(TLSProxy.caFile, in: caDirectory)
            var config = try ConfigMapValues.logShipping(["bytes": 6 << 20, "seconds": 30], endpoint: TLSProxy.s3Endpoint)
            config["resourceURL"] = TLSProxy.rayPrefixURL
            config["s3.secure"] = "true"
            var configMap = try KubeletConfigMap(directory: ws.configDir, values: config)
            let sidecar = try sidecar(ws, caDirectory: caDirectory)
            defer { sidecar.signal(SIGKILL) }
            let first = try await sidecar.waitForStatus("RUNNING through TLS") { $0["status.jobStatus"] == "RUNNING" }
            try configMap.update(["jobdata.jobParameters": ConfigMapValues.json(["bytes": 3 << 20])])
            let status = try await sidecar.waitForStatus(timeout: .seconds(180), "the edit's run and its log complete") {
                $0["id"] != first["id"] && LogStatus.complete($0)
            }
            #expect(status["status.jobStatus"] == "SUCCEEDED")
            try await ShippedLog.expectByteExact(status, jobName: ws.jobName)
            let runs = try await RayHead.submissions(of: ws.jobName)
            #expect(runs.map(\.status) == [.stopped, .succeeded])
            // Every request went through the prefix: nginx's access log has this run's under /ray/
            // (by its id: other tests run beside this one through the same proxy).
            let access = (try? String(contentsOfFile: TLSProxy.accessLog, encoding: .utf8)) ?? ""
            #expect(access.contains("/ray/api/jobs/\(first["id"] ?? "?")"), "the prefix is kept on every request")
            await sidecar.stop()
        }

        /// A CA that does not match is WAITING naming the certificate problem, nothing is submitted,
        /// and the fixed CA file (a kubelet swap of the mounted Secret) is used without a restart.
        @Test func aWrongCAIsWaitingNamingTheCertificateAndAFixedCAFileIsPickedUp() async throws {
            try await RayHead.ensure(.open)
            try await S3Server.ensure()
            try await TLSProxy.ensure()
            let ws = try Workspace("tlswrong")
            let caDirectory = try TestEnvironment.temporaryDirectory("tls-wrong-ca")
            defer {
                ws.cleanup()
                try? FileManager.default.removeItem(atPath: caDirectory)
            }
            var mounted = try TLSProxy.mountedCA(TLSProxy.wrongCAFile, in: caDirectory)
            var config = ConfigMapValues.inline(script: "print('over TLS')")
            config["resourceURL"] = TLSProxy.rayURL
            _ = try KubeletConfigMap(directory: ws.configDir, values: config)
            let sidecar = try sidecar(ws, caDirectory: caDirectory)
            defer { sidecar.signal(SIGKILL) }
            let waiting = try await sidecar.waitForStatus(timeout: .seconds(30), "WAITING on the certificate") {
                $0["status.jobStatus"] == "WAITING" && ($0["status.message"] ?? "").contains("certificate")
            }
            let message = waiting["status.message"] ?? ""
            #expect(message.contains("127.0.0.1:8443"), "names the host: \(message)")
            #expect(message.contains("does not verify"), "says why: \(message)")
            #expect(try await RayHead.submissions(of: ws.jobName).isEmpty, "nothing reached Ray")

            try mounted.update(["ca.pem": try String(contentsOfFile: TLSProxy.caFile, encoding: .utf8)])
            let status = try await sidecar.waitForStatus(timeout: .seconds(90), "SUCCEEDED once the CA is fixed") {
                $0["status.jobStatus"] == "SUCCEEDED"
            }
            #expect(status["id"] != nil)
            #expect(try await RayHead.submissions(of: ws.jobName).count == 1)
            #expect(sidecar.log.contains("trust roots read"), "the CA file was read again")
            await sidecar.stop()
        }
    }
}
