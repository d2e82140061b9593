/// Which call to Ray an answer is about: the loop treats some failures by the call (a fetch that
/// finds no run is news for the state machine, not a problem to log), and the log line names it.
enum RayCall: Sendable, Equatable, CustomStringConvertible {
    case readVersion
    case listJobs
    case fetchRun
    case stopRun
    case uploadPackage
    case submit

    var description: String {
        switch self {
        case .readVersion: "cannot read Ray's version"
        case .listJobs: "cannot list the cluster's jobs"
        case .fetchRun: "cannot read the run's state"
        case .stopRun: "cannot stop the run"
        case .uploadPackage: "cannot upload the script package"
        case .submit: "submission failed"
        }
    }
}
