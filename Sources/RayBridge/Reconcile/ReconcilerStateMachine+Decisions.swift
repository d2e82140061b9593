import Foundation

/// What to do next, given the desired spec and what Ray said; every event method ends here.
extension ReconcilerStateMachine {
    mutating func decide() -> Action {
        guard inFlight == nil, !finished else { return .none }

        if failure != nil, !wakeDue {
            // Every request to Ray waits out the backoff after a failure.
            return .sleep(backoff)
        }

        guard let spec = activeSpec else { return .none }
        // What the cluster understands decides what may be sent: learn it first.
        guard let cluster, cluster.url == spec.rayURL else {
            return start(.version, .readVersion(spec.rayURL))
        }
        // A spec the cluster cannot run is handled like an invalid one: the run is left alone.
        let desiredSpec: JobSpec? = if case .valid(let s) = desired, s.unsupported(by: cluster.version).isEmpty { s } else { nil }

        if let id = desiredSpec?.attachId {
            if current?.submissionId != id {
                setCurrent(RunRecord(submissionId: id, revision: nil, sequence: nil, submitted: true, rayURL: spec.rayURL))
            }
        } else if needsRecovery, desiredSpec != nil {
            return start(.recover, .recover)
        }

        // Learn the current run's state before deciding anything about it.
        if let run = current, observed == nil {
            return start(.fetch, .fetch(submissionId: run.submissionId))
        }

        let terminal = observed?.status.isTerminal ?? true
        if var run = current, !terminal {
            let wantsOther = desiredSpec.map { $0.attachId == nil && $0.revision != run.revision } ?? false
            let wantsStop = (desiredSpec?.kill ?? false) || wantsOther
            if wantsStop && !run.stopRequested {
                run.stopRequested = true
                update(run)
                stopPolls = 0
                return start(.stop, .stop(submissionId: run.submissionId))
            }
            if run.stopRequested && wantsStop {
                // Wait for Ray to report the run terminal, asking again from time to time: a stop
                // that was lost (a proxy's 503, a restarted head) must not leave it running.
                if consumeWake() {
                    stopPolls += 1
                    if stopPolls % Self.stopResendPolls == 0 {
                        return start(.stop, .stop(submissionId: run.submissionId))
                    }
                    return start(.fetch, .fetch(submissionId: run.submissionId))
                }
                return .sleep(stopPolls < Self.stopWaitPolls ? Self.stopPollInterval : Self.stopSlowPollInterval)
            } else {
                return poll(run, every: spec.updateInterval)
            }
        }

        guard let want = desiredSpec, want.attachId == nil else {
            return exitIfDone()
        }
        if let target = journal.runs.last(where: { $0.revision == want.revision }) {
            if current?.submissionId != target.submissionId {
                setCurrent(target)
                return decide()
            }
            return exitIfDone()
        }
        if want.kill { return .none }
        if rejected?.revision == want.revision { return .none }
        if let settleUntil, let now, now < settleUntil {
            // Edits are still coming: wait for them to pause, then run only the newest.
            return .sleep(settleUntil - now)
        }

        let sequence = journal.nextSequence
        let run = RunRecord(
            submissionId: RunRecord.submissionId(jobName: jobName, sequence: sequence, revision: want.revision),
            revision: want.revision, sequence: sequence, submitted: false, rayURL: want.rayURL)
        journal.nextSequence = sequence + 1
        journal.runs.append(run)
        if journal.runs.count > Journal.maxRuns { journal.runs.removeFirst(journal.runs.count - Journal.maxRuns) }
        setCurrent(run)
        rejected = nil
        return start(.submit, .submit(run, want))
    }

    mutating func poll(_ run: RunRecord, every interval: Duration) -> Action {
        if consumeWake() {
            polls += 1
            return start(.fetch, .fetch(submissionId: run.submissionId))
        }
        // Early transitions (SUBMITTED -> PENDING -> RUNNING) come fast: ramp 1 s, 2 s, 4 s... up to the interval.
        let ramp = Duration.seconds(1 << min(polls, 10))
        return .sleep(min(ramp, interval))
    }

    mutating func exitIfDone() -> Action {
        guard exitOnCompletion, let status = observed?.status, status.isTerminal else { return .none }
        finished = true
        return .exit(code: status == .succeeded ? 0 : 1)
    }

    var backoff: Duration {
        Backoff(initial: .seconds(1), maximum: Self.maxBackoff).delay(afterFailures: failure?.attempts ?? 1)
    }

    mutating func consumeWake() -> Bool {
        guard wakeDue else { return false }
        wakeDue = false
        return true
    }

    mutating func start(_ operation: InFlight, _ action: Action) -> Action {
        inFlight = operation
        wakeDue = false
        return action
    }

    mutating func succeeded() {
        failure = nil
    }

    mutating func setCurrent(_ run: RunRecord) {
        current = run
        observed = nil
        polls = 0
        stopPolls = 0
        if run.revision != nil { journal.currentId = run.submissionId }
    }

    mutating func update(_ run: RunRecord) {
        current = run
        if let i = journal.runs.firstIndex(where: { $0.submissionId == run.submissionId }) {
            journal.runs[i] = run
        }
    }
}
