/// What `status.jobStatus` says: Ray's states of a run, and raybridge's own before and beside one.
public enum JobState: String, Sendable, Equatable, CaseIterable, Codable {
    /// Nothing submitted yet: reading the ConfigMap, waiting for Ray, or `kill` is set.
    case waiting = "WAITING"
    /// The POST was answered; Ray has not been asked for the run's state yet.
    case submitted = "SUBMITTED"
    case pending = "PENDING"
    case running = "RUNNING"
    case succeeded = "SUCCEEDED"
    case failed = "FAILED"
    case stopped = "STOPPED"
    /// The ConfigMap (or what the cluster lacks for it) is wrong; a run, if any, is left alone.
    case invalid = "INVALID"
}

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
