import Foundation
import RayBridge
import RayBridgeClients
import RayBridgeCore
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension IntegrationSuite {
    /// The S3 keys of the second round against the real moto (and nginx for TLS): gzip objects,
    /// virtual-hosted addressing, and a certificate that does not verify.
    @Suite struct S3ConnectionTests {
        /// Every part a gzip member: `gzip -d` of the object is Ray's log, also after a SIGKILL.
        @Test func gzipObjectGunzipsToRaysLogAlsoAfterASIGKILL() async throws {
            try await RayHead.ensure(.open)
            try await S3Server.ensure()
            let ws = try Workspace("gzip")
            defer { ws.cleanup() }
            // log_generator's text compresses about 10:1 (40 MiB fit one part): random base64
            // compresses to about 3/4, so 24 MiB over 12 s make 3 or 4 parts of 5 MiB.
            let script = """
                import base64, os, sys, time
                total, written = 24 << 20, 0
                while written < total:
                    line = base64.b64encode(os.urandom(3 << 10)).decode() + "\\n"
                    sys.stdout.write(line)
                    written += len(line)
                    if written % (1 << 20) < len(line):
                        sys.stdout.flush()
                        time.sleep(0.5)
                """
            var values = try ConfigMapValues.logShipping([:], script: script)
            values["s3upload.compression"] = "gzip"
            _ = try KubeletConfigMap(directory: ws.configDir, values: values)
            let first = try ws.logShippingSidecar()
            try await first.waitForStatus(timeout: .seconds(120), "two parts shipped") { LogStatus.parts($0) >= 2 }
            await first.sigkill()
            let second = try ws.logShippingSidecar()
            defer { second.signal(SIGKILL) }
            let status = try await second.waitForStatus(timeout: .seconds(180), "log complete after the restart", LogStatus.complete)
            #expect(second.log.contains("resuming the log upload"), "\(second.log.suffix(3000))")
            try await ShippedLog.expectByteExact(status, jobName: ws.jobName, gzip: true)
            await second.stop()
        }

        /// `s3.addressingStyle: virtual`: the bucket in the host name, resolved to 127.0.0.1
        /// (scripts/install-deps.sh puts ray-logs.s3.localhost in /etc/hosts); moto reads the
        /// bucket from the Host header.
        @Test func virtualHostedRequestsReachTheBucket() async throws {
            try await RayHead.ensure(.open)
            try await S3Server.ensure()
            let (resolved, _) = try await TestEnvironment.shell(["getent", "hosts", "ray-logs.s3.localhost"])
            guard resolved == 0 else {
                throw TestFailure("ray-logs.s3.localhost does not resolve: run scripts/install-deps.sh (it adds it to /etc/hosts)")
            }
            let proxy = try await FaultProxy(port: 9114)
            defer { proxy.stop() }
            let ws = try Workspace("virtual")
            defer { ws.cleanup() }
            var values = try ConfigMapValues.logShipping(["bytes": 6 << 20], endpoint: "s3.localhost:\(proxy.port)")
            values["s3.addressingStyle"] = "virtual"
            _ = try KubeletConfigMap(directory: ws.configDir, values: values)
            let sidecar = try ws.logShippingSidecar()
            defer { sidecar.signal(SIGKILL) }
            let status = try await sidecar.waitForStatus(timeout: .seconds(120), "the log complete", LogStatus.complete)
            try await ShippedLog.expectByteExact(status, jobName: ws.jobName)
            // The paths have no bucket in them: it was in the host name.
            let requests = proxy.requests
            #expect(requests.contains { $0.hasPrefix("PUT /\(ws.jobName)/logs/") }, "\(requests)")
            #expect(!requests.contains { $0.contains(" /ray-logs/") }, "\(requests)")
            await sidecar.stop()
        }

        /// S3 behind TLS whose certificate is not from the `--ca-file` CA: the status says so.
        @Test func aCertificateThatDoesNotVerifyIsInTheStatus() async throws {
            try await RayHead.ensure(.open)
            try await S3Server.ensure()
            try await TLSProxy.ensure()
            let ws = try Workspace("s3wrongca")
            defer { ws.cleanup() }
            var values = try ConfigMapValues.logShipping(["bytes": 1024], endpoint: TLSProxy.s3Endpoint)
            values["s3.secure"] = "true"
            _ = try KubeletConfigMap(directory: ws.configDir, values: values)
            let sidecar = try ws.logShippingSidecar(arguments: ["--ca-file", TLSProxy.wrongCAFile])
            defer { sidecar.signal(SIGKILL) }
            let status = try await sidecar.waitForStatus(timeout: .seconds(60), "the certificate problem in the status") {
                (LogStatus.info($0)?["error"] as? String)?.contains("does not verify") == true
            }
            let error = LogStatus.info(status)?["error"] as? String ?? ""
            #expect(error.contains("127.0.0.1:9443"), "names the host: \(error)")
            #expect(error.contains("--ca-file"), "names what to fix: \(error)")
            await sidecar.stop()
        }
    }
}
