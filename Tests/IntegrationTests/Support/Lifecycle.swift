import Foundation
import RayBridgeClients
import RayBridgeTestKit
import Testing

/// What the lifecycle tests share: the flaky app's ConfigMap and the attempts as status.json and
/// the cluster show them.
enum Lifecycle {
    /// examples/apps/flaky.py counting its attempts in `counter` (a file on the head's disk: the
    /// head runs on this machine), its log shipped to S3 when `s3` is set.
    static func flaky(counter: String, hang: Int = 0, fail: Int, extra: [String: String], s3: Bool) throws -> [String: String] {
        let parameters: [String: Any] = ["counter": counter, "hang": hang, "fail": fail]
        var values =
            s3
            ? try ConfigMapValues.logShipping(parameters, script: try TestEnvironment.app("flaky.py"))
            : ConfigMapValues.inline(script: try TestEnvironment.app("flaky.py"), parameters: ConfigMapValues.json(parameters))
        values.merge(extra) { $1 }
        return values
    }

    static func json(_ status: [String: String]) -> [String: Any] {
        guard let text = status["status.json"], let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            return [:]
        }
        return object
    }

    /// status.json's `attempts`, as (id, outcome).
    static func attempts(_ status: [String: String]) -> [(id: String, outcome: String)] {
        (json(status)["attempts"] as? [[String: String]] ?? []).map { ($0["id"] ?? "", $0["outcome"] ?? "") }
    }

    static func reason(_ status: [String: String]) -> String { json(status)["reason"] as? String ?? "?" }

    /// The `raybridge.attempt` of each submission of the job on the cluster, by sequence.
    static func attemptsOnCluster(_ jobName: String) async throws -> [String] {
        try await RayHead.submissions(of: jobName).map { $0.metadata?["raybridge.attempt"] ?? "-" }
    }

    /// The run's log object in S3, once it is complete (no upload of the job left open).
    static func logObject(jobName: String, id: String) async throws -> Data {
        let key = "\(jobName)/logs/\(id).log"
        var object = Data()
        try await eventually("the log object \(key) is complete", timeout: .seconds(60), every: .milliseconds(250)) {
            guard let data = try? await S3Server.client().getObject(bucket: ConfigMapValues.logBucket, key: key, maxBytes: 1 << 24) else {
                return false
            }
            object = data
            return try await S3Server.openUploads(bucket: ConfigMapValues.logBucket, prefix: "\(jobName)/logs/\(id)").isEmpty
        }
        return object
    }
}
