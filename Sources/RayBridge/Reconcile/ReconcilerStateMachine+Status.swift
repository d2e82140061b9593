import Foundation

extension ReconcilerStateMachine {
    public var status: StatusSnapshot {
        var s: StatusSnapshot
        let retry = failure.map { "\($0.message) (attempt \($0.attempts), retrying)" }
        switch desired {
        case .unknown:
            s = StatusSnapshot(jobStatus: "WAITING", message: "reading the ConfigMap")
        case .invalid(let problems):
            s = invalid(problems)
        case .valid(let spec):
            let unsupported = cluster.map { spec.unsupported(by: $0.version) } ?? []
            if !unsupported.isEmpty {
                s = invalid(unsupported)
            } else if let observed, let run = current, run.stopRequested, !observed.status.isTerminal, !spec.kill, spec.attachId == nil,
                run.revision != spec.revision
            {
                s = StatusSnapshot(
                    jobStatus: observed.status.rawValue,
                    message: retry ?? "stopping run \(run.submissionId) for the new revision, which is submitted once Ray reports it ended")
            } else if let observed {
                s = StatusSnapshot(jobStatus: observed.status.rawValue, message: retry ?? observed.message ?? "")
            } else if let rejected, rejected.revision == spec.revision {
                s = StatusSnapshot(jobStatus: "INVALID", message: rejected.message)
            } else if let run = current, run.submitted {
                s = StatusSnapshot(jobStatus: "SUBMITTED", message: retry ?? "")
            } else if let retry {
                s = StatusSnapshot(jobStatus: "WAITING", message: retry)
            } else if spec.kill {
                s = StatusSnapshot(jobStatus: "WAITING", message: "kill is \"true\": nothing is submitted")
            } else {
                s = StatusSnapshot(jobStatus: "WAITING", message: "submitting")
            }
            s.revision = spec.revision.hex
        }
        if let run = current {
            s.submissionId = run.submissionId
            s.submitTime = run.submittedAt
            s.runRevision = run.revision?.hex
            s.sequence = run.sequence
        }
        s.rayVersion = cluster?.version?.text
        if let observed {
            s.rayStatus = observed.status.rawValue
            s.startTime = observed.startTime
            s.endTime = observed.endTime
            s.errorType = observed.errorType
            s.driverExitCode = observed.driverExitCode
        }
        return s
    }

    /// The cluster a run lives on: where it was submitted, whatever `resourceURL` says now.
    public func clusterURL(of submissionId: String) -> URL? {
        guard let run = current, run.submissionId == submissionId else { return activeSpec?.rayURL }
        return run.rayURL ?? activeSpec?.rayURL
    }

    /// The run being monitored, with its last observed state.
    public var currentRun: (run: RunRecord, details: RayJobDetails?)? {
        current.map { ($0, observed) }
    }

    /// Problems with the ConfigMap (or what the cluster lacks for it): the run goes on untouched.
    private func invalid(_ problems: [ConfigProblem]) -> StatusSnapshot {
        StatusSnapshot(jobStatus: "INVALID", message: problems.summary + (current.map { "\nrun \($0.submissionId) is left as it is" } ?? ""))
    }
}
