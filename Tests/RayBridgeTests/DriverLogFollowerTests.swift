import Foundation
import Logging
import NIOCore
import Testing

@testable import RayBridge
@testable import RayBridgeClients
@testable import RayBridgeCore

/// The follower against a fake cluster, in test time: every wait is the clock's, moved by the test.
@Suite struct DriverLogFollowerTests {
    struct Fixture {
        let ray = FakeRay()
        let clock: TestClock
        let events = Recorder<DriverLogEvent>()
        /// Wall time at the clock's zero.
        static let t0 = Date(timeIntervalSince1970: 1_800_000_000)

        init(clock: TestClock = TestClock()) {
            self.clock = clock
        }

        func start(
            _ source: DriverLogSource = .stateAPI(.raw), mode: FollowMode = .exact(from: 0), timing: FollowTiming = .init()
        ) -> Task<Void, any Error> {
            let clock = clock
            let follower = DriverLogFollower(
                submissionId: "raysubmit_1", ray: ray, source: source, mode: mode, timing: timing, clock: clock,
                date: { Fixture.t0 + clock.now.offset.timeInterval }, logger: Logger(label: "test"))
            return Task { [events] in
                for try await event in follower { events.append(event) }
            }
        }

        /// Moves time on in steps until the follow is done; false if it never is.
        func finish(_ task: Task<Void, any Error>, step: Duration = .milliseconds(250)) async -> Bool {
            let done = Recorder<Bool>()
            let watcher = Task {
                _ = try? await task.value
                done.append(true)
            }
            defer { watcher.cancel() }
            return await clock.advance(by: step) { !done.all.isEmpty }
        }

        func until(_ condition: @Sendable () async -> Bool) async -> Bool {
            await clock.advance(by: .milliseconds(250), until: condition)
        }
    }

    @Test func waitsForTheDriverThenFollowsAndFinishesFromTheFile() async throws {
        let f = Fixture()
        let task = f.start()
        #expect(await f.until { await f.ray.jobCalls >= 4 })
        #expect(await f.ray.streamRequests.isEmpty, "no driver yet")
        #expect(Array(f.clock.slept.prefix(3)) == [.milliseconds(250), .milliseconds(500), .seconds(1)], "polls slow down to once a second")
        await f.ray.set(status: .running, node: "node-1")
        await f.ray.append("hello\n")
        #expect(await f.until { f.events.text == "hello\n" })
        await f.ray.append("more\n")
        #expect(await f.until { f.events.text == "hello\nmore\n" })
        // The run ends with bytes the stream has not delivered: the file endpoint has them.
        await f.ray.appendUnseen("last line\n")
        await f.ray.set(status: .succeeded)
        #expect(await f.finish(task))
        #expect(f.events.text == "hello\nmore\nlast line\n")
        #expect(f.events.ends == [.succeeded])
        let requests = await f.ray.streamRequests
        #expect(requests.map(\.follow) == [true, false], "followed, then read to the end of the file")
        #expect(requests.allSatisfy { $0.framing == .raw })
    }

    @Test func aStreamThatEndsIsReconnectedAndItsReplaySkipped() async throws {
        let f = Fixture()
        await f.ray.set(status: .running, node: "node-1")
        await f.ray.append("abc\n")
        let task = f.start()
        #expect(await f.until { f.events.text == "abc\n" })
        await f.ray.closeStreams()
        await f.ray.appendUnseen("def\n")
        #expect(await f.until { f.events.text == "abc\ndef\n" })
        #expect(await f.ray.streamRequests.map(\.follow) == [true, true])
        await f.ray.append("ghi\n")
        #expect(await f.until { f.events.text == "abc\ndef\nghi\n" })
        await f.ray.set(status: .failed)
        #expect(await f.finish(task))
        #expect(f.events.text == "abc\ndef\nghi\n")
        #expect(f.events.ends == [.failed])
        #expect(f.events.interruptions == 0, "a stream that ends is not a failure")
    }

    /// Ray is asked for the run's state only after 250 ms of quiet, and at most every 2.5 s: a
    /// chatty run costs no requests.
    @Test func theRunsStateIsAskedOnlyWhenTheLogIsQuiet() async throws {
        let f = Fixture()
        await f.ray.set(status: .running, node: "node-1")
        let task = f.start()
        defer { task.cancel() }
        #expect(await f.clock.settle { await f.ray.openStreams == 1 && f.clock.sleeperCount == 1 })
        let asked = await f.ray.jobCalls
        for i in 0..<10 {
            await f.ray.append("line \(i)\n")
            #expect(await f.clock.settle { f.events.text.hasSuffix("line \(i)\n") })
            f.clock.advance(by: .milliseconds(200))
        }
        #expect(await f.clock.settle { f.clock.sleeperCount == 1 })
        #expect(await f.ray.jobCalls == asked, "chatty: no questions")
        f.clock.advance(by: .milliseconds(300))
        #expect(await f.clock.settle { await f.ray.jobCalls == asked + 1 && f.clock.sleeperCount == 1 })
        f.clock.advance(by: .milliseconds(2400))
        #expect(await f.clock.settle { f.clock.sleeperCount == 1 })
        #expect(await f.ray.jobCalls == asked + 1, "at most once per checkEvery (2.5 s)")
        f.clock.advance(by: .milliseconds(100))
        #expect(await f.clock.settle { await f.ray.jobCalls == asked + 2 })
    }

    /// A log too big to read again ends when the stream has been quiet for the drain window.
    @Test func aBigLogEndsAfterTheDrainWindowWithoutAReread() async throws {
        let f = Fixture()
        await f.ray.set(status: .running, node: "node-1")
        await f.ray.append("0123456789")
        var timing = FollowTiming()
        timing.rereadLimit = 4
        let task = f.start(timing: timing)
        #expect(await f.until { f.events.text == "0123456789" })
        await f.ray.set(status: .succeeded)
        #expect(await f.until { f.events.ends == [.succeeded] })
        let endedAt = f.clock.now
        await f.ray.append("tail")
        #expect(await f.finish(task))
        #expect(f.events.text == "0123456789tail")
        #expect(endedAt.duration(to: f.clock.now) >= timing.drainWindow)
        #expect(await f.ray.streamRequests.map(\.follow) == [true])
    }

    /// Ray < 2.33: the follow stream's bytes cannot be trusted, so the file is read again and
    /// again while the run lives; the read after which it is over has the whole log.
    @Test(arguments: [DriverLogSource.stateAPI(.marked), .jobAPI]) func aSourceWithoutAnExactStreamIsReread(_ source: DriverLogSource) async throws {
        let f = Fixture()
        await f.ray.set(status: .running, node: "node-1")
        await f.ray.append("a\n")
        let task = f.start(source)
        #expect(await f.until { f.events.text == "a\n" })
        await f.ray.append("b\n")
        #expect(await f.until { f.events.text == "a\nb\n" })
        await f.ray.append("c\n")
        await f.ray.set(status: .stopped)
        #expect(await f.finish(task))
        #expect(f.events.text == "a\nb\nc\n")
        #expect(f.events.ends == [.stopped])
        #expect(await f.ray.streamRequests.allSatisfy { !$0.follow && $0.framing == .marked })
        #expect(f.clock.slept.contains(.seconds(1)), "paced: a read at most once a second")
    }

    @Test func endOnlyReadsNoLogAndAsksRayAtItsPace() async throws {
        let f = Fixture()
        await f.ray.set(status: .running, node: "node-1")
        await f.ray.append("old\nlines\n")
        let task = f.start(mode: .endOnly)
        #expect(await f.until { await f.ray.jobCalls >= 3 })
        // A check a quarter second in, then one every `checkEvery` (2.5 s): what a watched job costs Ray.
        #expect(f.clock.now.offset == .milliseconds(5250))
        await f.ray.set(status: .succeeded)
        #expect(await f.finish(task))
        let running = RayJobDetails(submissionId: "raysubmit_1", status: .running).withNode("node-1")
        let ended = RayJobDetails(submissionId: "raysubmit_1", status: .succeeded).withNode("node-1")
        #expect(f.events.all == [.runGoesOn(running), .runGoesOn(running), .runGoesOn(running), .runEnded(ended)])
        #expect(await f.ray.streamRequests.isEmpty, "the log is not read")
        #expect(await f.ray.jobCalls == 4)
    }

    /// The pace of the end check by the run's age: young runs every 2.5 s; from 5 minutes every 1 %
    /// of the age, so the end shows at most about 1 % of it late; never slower than the cap.
    @Test(
        arguments: [
            (nil, 2.5), (0, 2.5), (299, 2.5), (300, 3.0), (600, 6.0), (1200, 12.0), (1500, 15.0), (7200, 15.0),
        ] as [(Int?, Double)])
    func theCheckIsPacedByTheRunsAge(_ age: Int?, _ seconds: Double) {
        #expect(FollowTiming().checkInterval(age: age.map { .seconds($0) }) == .milliseconds(Int64(seconds * 1000)))
    }

    @Test func printingCapAndOffsetChangeThePace() {
        var timing = FollowTiming()
        #expect(timing.checkInterval(age: .seconds(7200), printed: true) == .milliseconds(2500), "a line printed: checked as a young run")
        timing.checkCap = .seconds(60)
        #expect(timing.checkInterval(age: .seconds(3600)) == .seconds(36))
        #expect(timing.checkInterval(age: .seconds(86400)) == .seconds(60))
        timing.checkCap = .seconds(1)
        #expect(timing.checkInterval(age: .seconds(10)) == .seconds(1), "a cap under the young pace holds for every run")
        #expect(timing.checkInterval(age: .seconds(3600)) == .seconds(1))
        timing = FollowTiming()
        timing.ageOffset = .seconds(600)
        #expect(timing.checkInterval(age: .zero) == .seconds(6), "the bench's offset makes a new run ten minutes old")
    }

    /// Each wait after a check of a silent run, on a clock that moves by exactly what is slept,
    /// against the rule stated in the docs, for a run `startedAgo` old when followed.
    func pacedWaits(startedAgo: Duration, checks: Int) async throws -> [(age: Double, wait: Double)] {
        let f = Fixture(clock: TestClock(advancesBySleeping: true))
        let start = Fixture.t0 - startedAgo.timeInterval
        await f.ray.set(status: .running, node: "node-1")
        await f.ray.set(startTime: Int64((start.timeIntervalSince1970 * 1000).rounded()), endsAtCall: checks)
        let task = f.start(mode: .endOnly)
        try await task.value
        #expect(f.events.ends == [.succeeded])
        #expect(await f.ray.jobCalls == checks)
        let slept = f.clock.slept.map(\.timeInterval)
        #expect(slept.first == 0.25, "the first check a quarter second in")
        var at = 0.0
        return zip(slept.dropLast(0), slept.dropFirst()).map { before, wait in
            at += before
            return (startedAgo.timeInterval + at, wait)
        }
    }

    @Test func aYoungRunIsCheckedEvery2_5sTill5MinutesOld() async throws {
        let waits = try await pacedWaits(startedAgo: .seconds(290), checks: 7)
        #expect(waits.count == 6)
        for (age, wait) in waits {
            #expect(abs(wait - (age < 300 ? 2.5 : age / 100)) < 0.001, "at \(age) s: \(wait) s")
        }
        #expect(waits.last!.wait > 3, "past 5 minutes the pace slows")
    }

    @Test func anOldRunIsCheckedEvery1PercentOfItsAgeUpToTheCap() async throws {
        let waits = try await pacedWaits(startedAgo: .seconds(1200), checks: 30)
        for (age, wait) in waits {
            #expect(abs(wait - min(age / 100, 15)) < 0.001, "at \(age) s: \(wait) s")
            #expect(wait <= age / 100 + 0.001, "the end shows at most 1 % of the age late")
        }
        #expect(waits.first!.wait > 11.9 && waits.first!.wait < 12.1)
        #expect(waits.last!.wait == 15, "the cap")
    }

    /// An old run's silence is checked at the slow pace, but a line it prints brings the check
    /// forward and keeps the young pace for `printedFor` (10 s): most runs print their last line
    /// right before they end, and the end may come just after the check the line brought.
    @Test func aLineAnOldRunPrintsBringsTheCheckForward() async throws {
        let f = Fixture()
        await f.ray.set(status: .running, node: "node-1")
        await f.ray.set(startTime: Int64(((Fixture.t0.timeIntervalSince1970 - 3600) * 1000).rounded()))
        let task = f.start()
        defer { task.cancel() }
        #expect(await f.clock.settle { await f.ray.openStreams == 1 && f.clock.sleeperCount == 1 })
        let asked = await f.ray.jobCalls  // the wait for the driver's node
        f.clock.advance(by: .milliseconds(250))
        #expect(await f.clock.settle { await f.ray.jobCalls == asked + 1 && f.clock.sleeperCount == 1 })
        f.clock.advance(by: .seconds(10))
        #expect(await f.clock.settle { f.clock.sleeperCount == 1 })
        #expect(await f.ray.jobCalls == asked + 1, "an hour old and silent: checked every 15 s")
        await f.ray.append("done\n")
        #expect(await f.clock.settle { f.events.text == "done\n" && f.clock.sleeperCount == 1 })
        f.clock.advance(by: .milliseconds(250))
        #expect(await f.clock.settle { await f.ray.jobCalls == asked + 2 }, "quiet a quarter second after the line: checked")
        #expect(f.clock.now.offset == .milliseconds(10_500))
        for check in 3...6 {
            #expect(await f.clock.settle { f.clock.sleeperCount == 1 })
            f.clock.advance(by: .milliseconds(2500))
            #expect(await f.clock.settle { await f.ray.jobCalls == asked + check }, "the young pace for 10 s after the line")
        }
        #expect(f.clock.now.offset == .milliseconds(20_500))
        #expect(await f.clock.settle { f.clock.sleeperCount == 1 })
        f.clock.advance(by: .milliseconds(14_750))
        #expect(await f.clock.settle { f.clock.sleeperCount == 1 })
        #expect(await f.ray.jobCalls == asked + 6, "silent again: the slow pace")
        f.clock.advance(by: .milliseconds(250))
        #expect(await f.clock.settle { await f.ray.jobCalls == asked + 7 })
        await f.ray.set(status: .succeeded)
        #expect(await f.finish(task))
    }

    /// An old run that ends silently while its log is followed: seen at the next paced check.
    @Test func anOldSilentRunsEndIsSeenAtTheNextPacedCheck() async throws {
        let f = Fixture()
        await f.ray.set(status: .running, node: "node-1")
        await f.ray.set(startTime: Int64(((Fixture.t0.timeIntervalSince1970 - 3600) * 1000).rounded()))
        let task = f.start()
        #expect(await f.clock.settle { await f.ray.openStreams == 1 && f.clock.sleeperCount == 1 })
        let asked = await f.ray.jobCalls
        f.clock.advance(by: .milliseconds(250))
        #expect(await f.clock.settle { await f.ray.jobCalls == asked + 1 && f.clock.sleeperCount == 1 })
        f.clock.advance(by: .seconds(5))
        await f.ray.set(status: .succeeded)
        f.clock.advance(by: .milliseconds(9_750))
        #expect(await f.clock.settle { f.clock.sleeperCount == 1 })
        #expect(await f.ray.jobCalls == asked + 1)
        f.clock.advance(by: .milliseconds(250))
        #expect(await f.clock.settle { f.events.ends == [.succeeded] }, "checked 15 s after the one before")
        #expect(f.clock.now.offset == .milliseconds(15_250))
        #expect(await f.finish(task))
    }

    @Test func aRunThatEndedWithoutADriverGivesItsJobLog() async throws {
        let f = Fixture()
        await f.ray.set(status: .failed)
        await f.ray.appendUnseen("runtime env setup failed\n")
        let task = f.start()
        #expect(await f.finish(task))
        #expect(f.events.ends == [.failed])
        #expect(f.events.text == "runtime env setup failed\n")
        #expect(await f.ray.jobAPIReads == 1)
    }

    @Test func failuresAreToldAndRetriedWithBackoff() async throws {
        let f = Fixture()
        await f.ray.set(status: .running, node: "node-1")
        await f.ray.append("abcdef")
        await f.ray.failStreams([.server(status: 503, body: "busy"), .unreachable(url: "http://ray", reason: "refused")])
        let task = f.start(mode: .exact(from: 3))
        #expect(await f.until { f.events.text == "def" })
        #expect(f.events.interruptions == 2)
        #expect(f.clock.slept.contains(.milliseconds(500)) && f.clock.slept.contains(.seconds(1)), "\(f.clock.slept)")
        await f.ray.set(status: .succeeded)
        #expect(await f.finish(task))
        #expect(f.events.text == "def", "started at the offset: what S3 has is not handed on again")
    }

    @Test func cancellingTheConsumerStopsTheFollow() async throws {
        let f = Fixture()
        await f.ray.set(status: .running, node: "node-1")
        let task = f.start()
        #expect(await f.clock.settle { await f.ray.openStreams == 1 })
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
    }
}

extension RayJobDetails {
    func withNode(_ node: String) -> RayJobDetails {
        var details = self
        details.driverNodeId = node
        return details
    }
}
