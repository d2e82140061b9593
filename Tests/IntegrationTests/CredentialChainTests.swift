import AsyncHTTPClient
import Foundation
import RayBridge
import RayBridgeClients
import RayBridgeCore
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension IntegrationSuite {
    /// The S3 credential chain without Secret files, each source in turn, against the real moto
    /// (its STS issues the temporary credentials its S3 checks): a 40 MiB log byte-exact, the
    /// temporary ones expiring twice or more in the middle of the stream, and no secret anywhere
    /// a user or a scraper can read.
    @Suite struct CredentialChainTests {
        /// The sidecar with no Secret files (`--s3-credentials-dir` points nowhere) and `environment`.
        func sidecar(_ ws: Workspace, environment: [String: String], metricsPort: Int) throws -> SidecarProcess {
            try SidecarProcess(
                configDir: ws.configDir, statusDir: ws.statusDir, jobName: ws.jobName,
                arguments: ["--part-size-mib", "5", "--listen", "127.0.0.1:\(metricsPort)"], environment: environment)
        }

        /// Logs, every file of the status directory (hidden ones too) and /metrics hold none of `secrets`.
        func expectNoSecret(_ secrets: [String], sidecar: SidecarProcess, metricsPort: Int) async throws {
            let metrics = try await ObservabilityTests.get(metricsPort, "/metrics").body
            var texts = ["sidecar log": sidecar.log, "/metrics": metrics]
            let files = FileManager.default.enumerator(atPath: sidecar.statusDir)?.allObjects as? [String] ?? []
            for file in files {
                let path = sidecar.statusDir + "/" + file
                if let data = FileManager.default.contents(atPath: path) { texts["status file \(file)"] = String(decoding: data, as: UTF8.self) }
            }
            #expect(files.contains { $0.hasSuffix("status.json") })
            for secret in Set(secrets) where secret.count >= 8 {
                for (where_, text) in texts {
                    #expect(!text.contains(secret), "a secret (\(secret.prefix(4))…) is in the \(where_)")
                }
            }
        }

        func config(seconds: Int) throws -> [String: String] {
            var values = try ConfigMapValues.logShipping(["bytes": 40 << 20, "seconds": seconds])
            values["s3.secret"] = nil
            return values
        }

        @Test func environmentVariables() async throws {
            try await RayHead.ensure(.open)
            try await S3Server.ensure()
            let ws = try Workspace("credenv")
            defer { ws.cleanup() }
            _ = try KubeletConfigMap(directory: ws.configDir, values: try config(seconds: 0))
            let read = { (name: String) in try String(contentsOfFile: S3Server.credentialsDirectory + "/" + name, encoding: .utf8) }
            let (key, secret) = (try read("accesskey"), try read("secretkey"))
            let port = LoopbackPort.next()
            let sidecar = try sidecar(ws, environment: ["AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret], metricsPort: port)
            defer { sidecar.signal(SIGKILL) }
            let status = try await sidecar.waitForStatus(timeout: .seconds(180), "the log complete", LogStatus.complete)
            try await ShippedLog.expectByteExact(status, jobName: ws.jobName)
            #expect(sidecar.log.contains("S3 credential source"), "the source is logged")
            #expect(sidecar.log.contains("source=environment"), "\(sidecar.log.suffix(2000))")
            try await expectNoSecret([secret], sidecar: sidecar, metricsPort: port)
            await sidecar.stop()
        }

        @Test func webIdentityThroughMotosSTSRefreshedMidStream() async throws {
            try await RayHead.ensure(.open)
            try await S3Server.ensure()
            let token = "eyJhbGciOiJSUzI1NiJ9.web-identity-\(UUID().uuidString)"
            let sts = try await CredentialsEndpoint(.sts, port: 9112, token: token, lifetime: 10)
            defer { sts.stop() }
            let ws = try Workspace("credweb")
            defer { ws.cleanup() }
            _ = try KubeletConfigMap(directory: ws.configDir, values: try config(seconds: 25))
            let port = LoopbackPort.next()
            let sidecar = try sidecar(
                ws,
                environment: [
                    "AWS_WEB_IDENTITY_TOKEN_FILE": sts.tokenFile, "AWS_ROLE_ARN": CredentialsEndpoint.roleArn,
                    "AWS_ROLE_SESSION_NAME": "raybridge-it", "AWS_ENDPOINT_URL_STS": sts.url,
                ], metricsPort: port)
            defer { sidecar.signal(SIGKILL) }
            let status = try await sidecar.waitForStatus(timeout: .seconds(180), "the log complete", LogStatus.complete)
            try await ShippedLog.expectByteExact(status, jobName: ws.jobName)
            #expect(sidecar.log.contains("source=web-identity"), "\(sidecar.log.suffix(2000))")
            #expect(sts.issued.count >= 3, "credentials of 10 s over a 25 s stream are fetched 3 times or more: \(sts.issued.count)")
            #expect(sts.answers.allSatisfy { $0["status"] == "200" }, "every call carried the token: \(sts.answers.map { $0["status"] ?? "" })")
            let secrets = sts.issued.flatMap { [$0["secret"] ?? "", $0["sessionToken"] ?? ""] } + [token]
            try await expectNoSecret(secrets, sidecar: sidecar, metricsPort: port)
            await sidecar.stop()
        }

        @Test func containerEndpointExpiringTwiceMidStreamAndAFailedRefreshIsShown() async throws {
            try await RayHead.ensure(.open)
            try await S3Server.ensure()
            let token = "pod-identity-token-\(UUID().uuidString)"
            let endpoint = try await CredentialsEndpoint(.container, port: 9113, token: token, lifetime: 10)
            defer { endpoint.stop() }
            let ws = try Workspace("credcontainer")
            defer { ws.cleanup() }
            _ = try KubeletConfigMap(directory: ws.configDir, values: try config(seconds: 25))
            let port = LoopbackPort.next()
            let sidecar = try sidecar(
                ws,
                environment: [
                    "AWS_CONTAINER_CREDENTIALS_FULL_URI": endpoint.url + "/v1/credentials",
                    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": endpoint.tokenFile,
                ], metricsPort: port)
            defer { sidecar.signal(SIGKILL) }
            try await sidecar.waitForStatus("a part shipped") { LogStatus.parts($0) >= 1 }
            // The endpoint fails through the next refresh (7-7.5 s after the first fetch): shown in
            // status.json and the metric, then it works again and the stream goes on.
            try endpoint.fail()
            let failing = try await sidecar.waitForStatus(timeout: .seconds(40), "the refresh failure in status.json") {
                (LogStatus.info($0)?["credentialsError"] as? String)?.contains("container credentials endpoint") == true
            }
            #expect((LogStatus.info(failing)?["credentialsError"] as? String)?.contains("HTTP 500") == true)
            let metrics = try await ObservabilityTests.get(port, "/metrics").body
            #expect(
                (ObservabilityTests.sample(metrics, "raybridge_s3_credential_refreshes_total", #"outcome="failed""#) ?? 0) >= 1, "\(metrics)")
            endpoint.heal()
            let status = try await sidecar.waitForStatus(timeout: .seconds(180), "the log complete", LogStatus.complete)
            try await ShippedLog.expectByteExact(status, jobName: ws.jobName)
            #expect(LogStatus.info(status)?["credentialsError"] is NSNull, "cleared after the recovery")
            #expect(sidecar.log.contains("source=container-endpoint"), "\(sidecar.log.suffix(2000))")
            #expect(endpoint.issued.count >= 3, "expired twice or more mid-stream: \(endpoint.issued.count) fetches")
            let secrets = endpoint.issued.flatMap { [$0["secret"] ?? "", $0["sessionToken"] ?? ""] } + [token]
            try await expectNoSecret(secrets, sidecar: sidecar, metricsPort: port)
            await sidecar.stop()
        }
    }
}
