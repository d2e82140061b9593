/// Why a run ended `FAILED` on raybridge's account: `status.json`'s `reason`.
public enum RunEndReason: String, Sendable, Equatable, Codable {
    /// Not terminal `activeDeadlineSeconds` after its submission: stopped, and not retried.
    case deadlineExceeded = "DeadlineExceeded"
    /// Ray no longer knows it (a head restarted without persistence): a failed attempt.
    case lost = "RunLost"
    /// Not `RUNNING` `preRunningDeadlineSeconds` after its submission (no resources, a runtime
    /// env that never installs): stopped, and a failed attempt.
    case preRunningDeadlineExceeded = "PreRunningDeadlineExceeded"
}
