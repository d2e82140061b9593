import Foundation

/// The `log` part of `status.json`: how far the shipping of the run's log has come.
enum LogStatus {
    static func info(_ status: [String: String]) -> [String: Any]? {
        guard let json = status["status.json"], let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] else {
            return nil
        }
        return object["log"] as? [String: Any]
    }

    static func parts(_ status: [String: String]) -> Int { info(status)?["parts"] as? Int ?? 0 }

    /// The run is over and its whole log is in S3.
    static func complete(_ status: [String: String]) -> Bool {
        ["SUCCEEDED", "FAILED", "STOPPED"].contains(status["status.jobStatus"] ?? "") && info(status)?["complete"] as? Bool == true
    }
}
