import Foundation

/// The ConfigMaps the suites start from.
enum ConfigMapValues {
    /// The bucket the log-shipping ConfigMaps name (scripts/s3-server.sh makes it).
    static let logBucket = "ray-logs"

    /// An inline script on the local Ray, polled every `interval` seconds.
    static func inline(script: String, parameters: String = "{}", interval: Int = 1) -> [String: String] {
        [
            "resourceURL": TestEnvironment.rayURL,
            "updateInterval": "\(interval)",
            "jobdata.scriptLocation": "inline",
            "jobdata.jobScript": script,
            "jobdata.jobParameters": parameters,
        ]
    }

    /// examples/apps/log_generator.py (or `script`) with `parameters`, its log shipped to S3 at `endpoint`.
    static func logShipping(_ parameters: [String: Any], endpoint: String = S3Server.endpoint, script: String? = nil) throws -> [String: String] {
        [
            "resourceURL": TestEnvironment.rayURL,
            "updateInterval": "1",
            "jobdata.jobScript": try script ?? TestEnvironment.app("log_generator.py"),
            "jobdata.jobParameters": json(parameters),
            "s3.endpoint": endpoint,
            "s3.secure": "false",
            "s3.secret": "my-s3-secret",
            "s3upload.bucket": logBucket,
        ]
    }

    /// `object` as JSON text with sorted keys, for values such as `jobdata.jobParameters`.
    static func json(_ object: Any) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }
}
