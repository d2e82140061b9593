import Foundation
import Testing

@testable import RayBridge
@testable import RayBridgeClients
@testable import RayBridgeCore

/// Hundreds of generated bad ConfigMaps: each is INVALID naming its key, and none, as an edit
/// over a running job, stops it or submits anything.
@Suite struct MalformedConfigMapCorpusTests {
    static let seed: UInt64 = 0x1157_C0FF_EE00_0011

    static func corpus() -> [MalformedConfigMapCorpus.Entry] {
        var generator = MalformedConfigMapCorpus(seed: seed)
        return generator.generate(perFamily: 80)
    }

    @Test func theBaseIsValid() {
        #expect(ConfigMapParser(jobName: "job").parse(MalformedConfigMapCorpus.base).spec != nil)
    }

    @Test func everyEntryIsInvalidNamingItsKey() {
        let corpus = Self.corpus()
        #expect(corpus.count >= 200)
        #expect(Set(corpus.map(\.label)).count >= 60, "the corpus covers many distinct faults")
        let parser = ConfigMapParser(jobName: "job")
        var failures: [String] = []
        for entry in corpus {
            switch parser.parse(entry.values, invalidBytes: entry.invalidBytes) {
            case .valid:
                failures.append("\(entry): accepted")
            case .invalid(let problems, _):
                if !problems.contains(where: { $0.key == entry.key }) { failures.append("\(entry): \(problems)") }
            }
        }
        #expect(failures.isEmpty, "\(failures.count) of \(corpus.count):\n\(failures.prefix(20).joined(separator: "\n"))")
    }

    @Test func noEntryStopsOrReplacesARunningJob() {
        let parser = ConfigMapParser(jobName: "job")
        // A pod that has a journal and has read the cluster's version: the next event is the config.
        var m = TestMachine(jobName: "job", journal: Journal(jobName: "job")).connected(URL(string: "http://127.0.0.1:8265")!, RayVersion(2, 60, 0))
        guard case .submit(let run, _) = m.configChanged(parser.parse(MalformedConfigMapCorpus.base)) else {
            Issue.record("the base should submit")
            return
        }
        _ = m.submitted(at: Date())
        let running = RayJobDetails(
            submissionId: run.submissionId, status: .running,
            metadata: [
                "raybridge.job": "job", "raybridge.revision": run.revision?.hex ?? "", "raybridge.sequence": "1",
            ])
        _ = m.observed(running)
        var failures: [String] = []
        for entry in Self.corpus() {
            let action = m.configChanged(parser.parse(entry.values, invalidBytes: entry.invalidBytes))
            switch action {
            case .stop, .submit: failures.append("\(entry): \(action)")
            default: break
            }
            if m.status.jobStatus != .invalid { failures.append("\(entry): status \(m.status.jobStatus)") }
            if case .stop = m.observed(running) { failures.append("\(entry): stop after a poll") }
        }
        #expect(failures.isEmpty, "\(failures.prefix(20).joined(separator: "\n"))")
        #expect(m.status.submissionId == run.submissionId)
    }
}
