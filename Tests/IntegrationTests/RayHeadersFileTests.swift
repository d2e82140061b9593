import Foundation
import RayBridge
import RayBridgeClients
import RayBridgeCore
import RayBridgeTestKit
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension IntegrationSuite {
    /// The real Ray behind a real authenticating proxy (nginx from scripts/tls-proxy.sh, which
    /// answers 401 to any request without its header), reached with `--ray-headers-file` mounted
    /// like a Secret.
    @Suite struct RayHeadersFileTests {
        func sidecar(
            _ ws: Workspace, port: Int, caDirectory: String, headersFile: String?, rayCredentialsDir: String? = nil
        ) throws -> SidecarProcess {
            try ws.logShippingSidecar(
                rayCredentialsDir: rayCredentialsDir,
                arguments: ["--ca-file", caDirectory + "/ca.pem", "--listen", "127.0.0.1:\(port)"]
                    + (headersFile.map { ["--ray-headers-file", $0] } ?? []))
        }

        /// The sidecar's log, every file of its status directory (hidden ones too), /metrics and
        /// /readyz hold none of `secrets`.
        func expectShownNowhere(_ secrets: [String], _ sidecars: [SidecarProcess], port: Int) async throws {
            var texts: [String: String] = [
                "/metrics": try await ObservabilityTests.get(port, "/metrics").body,
                "/readyz": try await ObservabilityTests.get(port, "/readyz").body,
            ]
            for (n, sidecar) in sidecars.enumerated() {
                texts["log of sidecar \(n)"] = sidecar.log
                let files = FileManager.default.enumerator(atPath: sidecar.statusDir)?.allObjects as? [String] ?? []
                #expect(files.contains { $0.hasSuffix("status.json") })
                for file in files {
                    if let data = FileManager.default.contents(atPath: sidecar.statusDir + "/" + file) {
                        texts["status file \(file)"] = String(decoding: data, as: UTF8.self)
                    }
                }
            }
            for secret in secrets {
                #expect(secret.count >= 8)
                for (place, text) in texts {
                    #expect(!text.contains(secret), "a header's value (\(secret.prefix(4))…) is in the \(place)")
                }
            }
        }

        /// Without the headers the status says Ray (or its proxy) refuses; with a wrong value too,
        /// naming the header; the right value swapped into the mounted Secret is used without a
        /// restart, the job runs to SUCCEEDED and its log reaches S3 byte-exact; no value is shown
        /// anywhere.
        @Test func behindAnAuthenticatingProxyTheHeadersFileLetsTheJobRunAndNoValueIsShown() async throws {
            try await RayHead.ensure(.open)
            try await S3Server.ensure()
            try await TLSProxy.ensure()
            let ws = try Workspace("proxyauth")
            let caDirectory = try TestEnvironment.temporaryDirectory("proxyauth-ca")
            let headersDirectory = try TestEnvironment.temporaryDirectory("proxyauth-headers")
            defer {
                ws.cleanup()
                try? FileManager.default.removeItem(atPath: caDirectory)
                try? FileManager.default.removeItem(atPath: headersDirectory)
            }
            _ = try TLSProxy.mountedCA(TLSProxy.caFile, in: caDirectory)
            let secret = try TLSProxy.proxyAuthSecret()
            let wrong = "wrong-\(UUID().uuidString)"
            var config = try ConfigMapValues.logShipping(["bytes": 6 << 20, "seconds": 5])
            config["resourceURL"] = TLSProxy.rayAuthURL
            _ = try KubeletConfigMap(directory: ws.configDir, values: config)

            // No headers file: refused, and the message says where headers would come from.
            let port = LoopbackPort.next()
            let bare = try sidecar(ws, port: port, caDirectory: caDirectory, headersFile: nil)
            defer { bare.signal(SIGKILL) }
            let refused = try await bare.waitForStatus(timeout: .seconds(30), "WAITING, refused without the header") {
                $0["status.jobStatus"] == "WAITING" && ($0["status.message"] ?? "").contains("HTTP 401")
            }
            let message = refused["status.message"] ?? ""
            #expect(message.contains("--ray-headers-file"), "\(message)")
            #expect(message.contains("401 Authorization Required"), "the proxy's answer is quoted: \(message)")
            let readyz = try await ObservabilityTests.get(port, "/readyz")
            #expect(readyz.status == 503 && readyz.body.contains("HTTP 401"), "\(readyz)")
            await bare.stop()

            // A wrong value: refused, naming the header sent, never its value.
            var mounted = try KubeletConfigMap(directory: headersDirectory, values: ["headers": "# the proxy's header\nX-Proxy-Auth: \(wrong)\n"])
            let sidecar = try sidecar(ws, port: port, caDirectory: caDirectory, headersFile: headersDirectory + "/headers")
            defer { sidecar.signal(SIGKILL) }
            let wrongStatus = try await sidecar.waitForStatus(timeout: .seconds(30), "WAITING, the wrong value refused") {
                ($0["status.message"] ?? "").contains("with the headers X-Proxy-Auth of --ray-headers-file")
            }
            #expect(wrongStatus["status.jobStatus"] == "WAITING")
            #expect(try await RayHead.submissions(of: ws.jobName).isEmpty, "nothing reached Ray")

            // The Secret updated the kubelet's way: picked up at the next retry.
            try mounted.update(["headers": "# the proxy's header\nX-Proxy-Auth: \(secret)\n"])
            let status = try await sidecar.waitForStatus(timeout: .seconds(180), "SUCCEEDED and the log complete") {
                $0["status.jobStatus"] == "SUCCEEDED" && LogStatus.complete($0)
            }
            try await ShippedLog.expectByteExact(status, jobName: ws.jobName)
            #expect(try await RayHead.submissions(of: ws.jobName).count == 1)
            #expect(sidecar.log.contains("Ray headers read"), "the file's change is logged")
            #expect(sidecar.log.contains("X-Proxy-Auth"), "by the header's name")
            try await expectShownNowhere([secret, wrong], [bare, sidecar], port: port)
            await sidecar.stop()
        }

        /// A proxy that wants its own `Authorization` (Basic) in front of a Ray with token auth: the
        /// header from the file goes to the proxy, the Ray token (a mounted `token` file, as a
        /// projected service-account token is) travels in X-Ray-Authorization, and Ray accepts it.
        /// (Named `tokenAuth...`: Ray before 2.52 has no token auth.)
        @Test(.rayHead(.exclusive)) func tokenAuthBehindAProxyTakingAuthorizationTheTokenTravelsInXRayAuthorization() async throws {
            let token = "rb-proxy-token-\(UUID().uuidString.prefix(8))"
            try await RayHead.with(.token(token)) {
                try await S3Server.ensure()
                try await TLSProxy.ensure()
                let ws = try Workspace("proxybasic")
                let caDirectory = try TestEnvironment.temporaryDirectory("proxybasic-ca")
                let headersDirectory = try TestEnvironment.temporaryDirectory("proxybasic-headers")
                let credentials = try TestEnvironment.temporaryDirectory("proxybasic-token")
                defer {
                    ws.cleanup()
                    for dir in [caDirectory, headersDirectory, credentials] { try? FileManager.default.removeItem(atPath: dir) }
                }
                _ = try TLSProxy.mountedCA(TLSProxy.caFile, in: caDirectory)
                let basic = try TLSProxy.proxyBasicSecret()
                _ = try KubeletConfigMap(directory: headersDirectory, values: ["headers": "Authorization: Basic \(basic)\n"])
                _ = try KubeletConfigMap(directory: credentials, values: ["token": token])
                var config = try ConfigMapValues.logShipping(["bytes": 1 << 20, "seconds": 2])
                config["resourceURL"] = TLSProxy.rayBasicAuthURL
                _ = try KubeletConfigMap(directory: ws.configDir, values: config)
                let port = LoopbackPort.next()
                let sidecar = try sidecar(
                    ws, port: port, caDirectory: caDirectory, headersFile: headersDirectory + "/headers", rayCredentialsDir: credentials)
                defer { sidecar.signal(SIGKILL) }
                let status = try await sidecar.waitForStatus(timeout: .seconds(120), "SUCCEEDED and the log complete") {
                    $0["status.jobStatus"] == "SUCCEEDED" && LogStatus.complete($0)
                }
                #expect(try await RayHead.submissions(of: ws.jobName, token: token).count == 1)
                #expect(LogStatus.info(status)?["bytes"] as? Int ?? 0 >= 1 << 20)
                try await expectShownNowhere([basic, token], [sidecar], port: port)
                await sidecar.stop()
            }
        }
    }
}
