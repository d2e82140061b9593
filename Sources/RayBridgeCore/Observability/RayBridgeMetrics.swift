import CoreMetrics
import Metrics

/// Every metric raybridge exports, in one place so the names stay consistent. Recorded through
/// swift-metrics; `/metrics` renders them in the Prometheus text format.
public enum RayBridgeMetrics {
    public static func submitted() { Counter(label: "raybridge_submissions_total").increment() }
    public static func stopped() { Counter(label: "raybridge_stops_total").increment() }
    public static func configReloaded() { Counter(label: "raybridge_config_reloads_total").increment() }
    public static func configInvalid() { Counter(label: "raybridge_config_errors_total").increment() }
    public static func retried(_ what: String) { Counter(label: "raybridge_retries_total", dimensions: [("call", what)]).increment() }

    /// One gauge per status, 1 for the current one, so `raybridge_job_status{status="RUNNING"} == 1` works.
    public static func jobStatus(_ current: JobState) {
        for status in JobState.allCases {
            Gauge(label: "raybridge_job_status", dimensions: [("status", status.rawValue)]).record(status == current ? 1 : 0)
        }
    }

    /// A run seen to end, in the style of KubeRay's RayJob metrics: its duration from submission
    /// to end by the status it ended with, every attempt by its outcome, and deadline stops.
    public static func runEnded(status: JobState, outcome: String, duration: Duration?) {
        if let duration {
            Timer(label: jobDurationLabel, dimensions: [("status", status.rawValue)]).recordNanoseconds(duration.nanoseconds)
        }
        Counter(label: "raybridge_job_attempts_total", dimensions: [("outcome", outcome)]).increment()
        if outcome == "DeadlineExceeded" { Counter(label: "raybridge_job_deadline_exceeded_total").increment() }
    }

    public static let jobDurationLabel = "raybridge_job_duration_seconds"
    /// Runs last seconds to days: the default buckets (up to 10 s) would put every run in +Inf.
    public static let jobDurationBuckets: [Duration] = [1, 5, 10, 30, 60, 300, 600, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 24 * 3600]
        .map { .seconds($0) }

    /// From the kubelet's `..data` swap being seen to the Ray call it caused.
    public static func reaction(_ duration: Duration) {
        Timer(label: "raybridge_reaction_seconds").recordNanoseconds(duration.nanoseconds)
    }

    public static func rayRequest(endpoint: String, outcome: String, _ duration: Duration) {
        Timer(label: "raybridge_ray_request_duration_seconds", dimensions: [("endpoint", endpoint), ("outcome", outcome)])
            .recordNanoseconds(duration.nanoseconds)
    }

    public static func logShipped(bytes: Int) {
        Counter(label: "raybridge_log_bytes_shipped_total").increment(by: bytes)
        Counter(label: "raybridge_log_parts_shipped_total").increment()
    }

    /// `raybridge_ray_info{ray_version="2.40.0"} 1`: the release of the cluster in use.
    public static func rayVersion(_ current: String?, previous: String?) {
        let current = current ?? "unknown"
        if let previous = previous ?? (current == "unknown" ? nil : "unknown"), previous != current {
            Gauge(label: "raybridge_ray_info", dimensions: [("ray_version", previous)]).record(0)
        }
        Gauge(label: "raybridge_ray_info", dimensions: [("ray_version", current)]).record(1)
    }

    /// Every fetch of temporary S3 credentials (STS, the container endpoint), by source and outcome,
    /// so that an alert can fire on `outcome="failed"` before the old credentials expire.
    public static func credentialRefresh(source: String, failed: Bool) {
        Counter(label: "raybridge_s3_credential_refreshes_total", dimensions: [("source", source), ("outcome", failed ? "failed" : "ok")])
            .increment()
    }

    /// S3's documented error codes (and ours, `Unreachable`): a label takes only these, so a
    /// server answering arbitrary text cannot make new time series (or leak it into metrics).
    static let knownS3Codes: Set<String> = [
        "AccessDenied", "AccountProblem", "AuthorizationHeaderMalformed", "BadDigest", "EntityTooLarge", "EntityTooSmall",
        "ExpiredToken", "IllegalLocationConstraintException", "InternalError", "InvalidAccessKeyId", "InvalidArgument",
        "InvalidBucketName", "InvalidDigest", "InvalidPart", "InvalidPartOrder", "InvalidRequest", "InvalidToken",
        "MalformedXML", "MethodNotAllowed", "MissingContentLength", "NoSuchBucket", "NoSuchKey", "NoSuchUpload",
        "NotImplemented", "PermanentRedirect", "RequestTimeTooSkewed", "RequestTimeout", "ServiceUnavailable",
        "SignatureDoesNotMatch", "SlowDown", "TemporaryRedirect", "TokenRefreshRequired", "Unreachable",
        "XAmzContentSHA256Mismatch",
    ]

    public static func s3Error(code: String) {
        let label = knownS3Codes.contains(code) ? code : "other"
        Counter(label: "raybridge_s3_errors_total", dimensions: [("code", label)]).increment()
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
