import AsyncHTTPClient
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
    /// The running sidecar's probes and metrics, and its graceful shutdown, against the real Ray and S3.
    @Suite struct ObservabilityTests {
        static func get(_ port: Int, _ path: String) async throws -> (status: Int, body: String) {
            let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)"), timeout: .seconds(5))
            let body = try await response.body.collect(upTo: 1 << 20)
            return (Int(response.status.code), String(buffer: body))
        }

        /// The value of the first sample line of `name` whose labels contain `labels`.
        static func sample(_ metrics: String, _ name: String, _ labels: String = "") -> Double? {
            for line in metrics.split(separator: "\n") where line.hasPrefix(name) && !line.hasPrefix("#") {
                let head = line.split(separator: " ").first.map(String.init) ?? ""
                guard head == name || head.hasPrefix(name + "{"), labels.isEmpty || head.contains(labels) else { continue }
                return line.split(separator: " ").last.flatMap { Double($0) }
            }
            return nil
        }

        @Test func healthReadinessAndMetricsFollowSubmitStopAndAnInvalidEdit() async throws {
            try await RayHead.ensure(.open)
            let ws = try Workspace("metrics")
            defer { ws.cleanup() }
            let port = LoopbackPort.next()
            var cm = try KubeletConfigMap(
                directory: ws.configDir,
                values: ConfigMapValues.inline(script: try TestEnvironment.app("sleeper.py"), parameters: #"{"seconds": 60}"#))
            let sidecar = try ws.sidecar(arguments: ["--listen", "127.0.0.1:\(port)"])
            defer { sidecar.signal(SIGKILL) }
            try await sidecar.waitForStatus("RUNNING") { $0["status.jobStatus"] == "RUNNING" }

            #expect(try await Self.get(port, "/healthz").status == 200)
            #expect(try await Self.get(port, "/readyz").status == 200)
            var metrics = try await Self.get(port, "/metrics").body
            #expect(Self.sample(metrics, "raybridge_submissions_total") == 1, "\(metrics)")
            #expect(Self.sample(metrics, "raybridge_job_status", #"status="RUNNING""#) == 1)
            #expect(Self.sample(metrics, "raybridge_job_status", #"status="SUCCEEDED""#) == 0)
            #expect(Self.sample(metrics, "raybridge_reaction_seconds_count") == 1)
            #expect(Self.sample(metrics, "raybridge_ray_request_duration_seconds_count", #"endpoint="submit""#) == 1)
            #expect(Self.sample(metrics, "raybridge_config_reloads_total") == 1)

            try cm.update(["kill": "true"])
            try await sidecar.waitForStatus("STOPPED") { $0["status.jobStatus"] == "STOPPED" }
            metrics = try await Self.get(port, "/metrics").body
            #expect(Self.sample(metrics, "raybridge_stops_total") == 1)
            #expect(Self.sample(metrics, "raybridge_job_status", #"status="STOPPED""#) == 1)
            #expect(Self.sample(metrics, "raybridge_job_status", #"status="RUNNING""#) == 0)

            try cm.update(["updateInterval": "soon"])
            try await sidecar.waitForStatus("INVALID") { $0["status.jobStatus"] == "INVALID" }
            metrics = try await Self.get(port, "/metrics").body
            #expect(Self.sample(metrics, "raybridge_config_errors_total") == 1)
            #expect(Self.sample(metrics, "raybridge_config_reloads_total") == 3)
            #expect(Self.sample(metrics, "raybridge_job_status", #"status="INVALID""#) == 1)
            #expect(try await Self.get(port, "/nope").status == 404)
            await sidecar.stop()
        }

        @Test(.rayHead(.exclusive)) func readinessFailsWhileRayIsDown() async throws {
            try await RayHead.ensure(.open)
            let ws = try Workspace("ready")
            defer { ws.cleanup() }
            let port = LoopbackPort.next()
            _ = try KubeletConfigMap(
                directory: ws.configDir,
                values: ConfigMapValues.inline(script: try TestEnvironment.app("sleeper.py"), parameters: #"{"seconds": 300}"#))
            let sidecar = try ws.sidecar(arguments: ["--listen", "127.0.0.1:\(port)"])
            defer { sidecar.signal(SIGKILL) }
            try await sidecar.waitForStatus("RUNNING") { $0["status.jobStatus"] == "RUNNING" }
            #expect(try await Self.get(port, "/readyz").status == 200)
            try await RayHead.whileStopped {
                try await eventually("/readyz fails", timeout: .seconds(60), every: .milliseconds(200)) {
                    try await Self.get(port, "/readyz").status == 503
                }
                let body = try await Self.get(port, "/readyz").body
                #expect(body.contains("unreachable"), "\(body)")
                #expect(try await Self.get(port, "/healthz").status == 200, "Ray being down is not a reason to restart the sidecar")
                await sidecar.stop()
            }
        }

        @Test(.rayHead(.exclusive)) func sigtermMidStreamExitsWithin5sAndARestartCompletesTheLogByteExact() async throws {
            try await RayHead.ensure(.open)
            try await S3Server.ensure()
            let ws = try Workspace("sigterm")
            defer { ws.cleanup() }
            _ = try KubeletConfigMap(directory: ws.configDir, values: try ConfigMapValues.logShipping(["bytes": 40 << 20, "seconds": 12]))
            let first = try ws.logShippingSidecar()
            try await first.waitForStatus("a part shipped") { LogStatus.parts($0) >= 1 }
            let start = ContinuousClock.now
            first.signal(SIGTERM)
            let code = await first.waitForExit(timeout: .seconds(10))
            let took = ContinuousClock.now - start
            #expect(code == 0, "\(first.log.suffix(2000))")
            #expect(took < .seconds(5), "SIGTERM took \(took)")
            let running = try await RayHead.client().job(StatusDirectory.read(ws.statusDir)["id"]!)
            #expect(!running.status.isTerminal || running.status == .succeeded, "the run is left to Ray, not stopped")

            let second = try ws.logShippingSidecar()
            defer { second.signal(SIGKILL) }
            let status = try await second.waitForStatus(timeout: .seconds(180), "log complete after the restart", LogStatus.complete)
            try await ShippedLog.expectByteExact(status, jobName: ws.jobName)
            #expect(try await RayHead.submissions(of: ws.jobName).count == 1)
            await second.stop()
        }
    }
}
