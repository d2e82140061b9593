import Foundation
import RayBridgeTestKit
import Testing

@testable import RayBridge
@testable import RayBridgeClients
@testable import RayBridgeCore

/// Serialized: one test stops the process-wide inotify thread.
@Suite(.serialized) struct DirectoryWatcherTests {
    private func data(_ pairs: [String: String]) -> [String: Data] {
        pairs.mapValues { Data($0.utf8) }
    }

    private func put(_ path: String, _ text: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))  // temp file + rename: a MOVED_TO
    }

    @Test func seesEachKubeletStyleUpdateOnce() async throws {
        let temp = try WatchTestDirectory()
        defer { temp.remove() }
        let writer = KubeletAtomicWriter(directory: temp.path)
        try writer.write(data(["a": "1", "b": "2"]))
        let collector = SnapshotCollector(directory: temp.path)
        defer { collector.cancel() }

        let initial = try #require(await collector.waitFor(0))
        #expect(initial.values == ["a": "1", "b": "2"])
        #expect(initial.isKubeletManaged)

        let written = ContinuousClock.now
        try writer.write(data(["a": "11", "c": "3"]))
        let update = try #require(await collector.waitFor(1))
        let latency = collector.arrival(1) - written
        print("kubelet-style update seen after \(latency)")  // a number for the log; `make bench` measures it
        #expect(update.values == ["a": "11", "c": "3"])

        // Same content again: the writer writes nothing; a kubelet-style swap to an identical new generation
        // and scratch names produce events but no new content.
        #expect(try writer.write(data(["a": "11", "c": "3"])) == false)
        let fm = FileManager.default
        try fm.createDirectory(atPath: temp.sub("..2099_01_01_00_00_00.same"), withIntermediateDirectories: false)
        try put(temp.sub("..2099_01_01_00_00_00.same/a"), "11")
        try put(temp.sub("..2099_01_01_00_00_00.same/c"), "3")
        try fm.createSymbolicLink(atPath: temp.sub("..data_tmp"), withDestinationPath: "..2099_01_01_00_00_00.same")
        #expect(rename(temp.sub("..data_tmp"), temp.sub("..data")) == 0)
        try await Task.sleep(for: .milliseconds(500))
        #expect(collector.count == 2, "\(collector.snapshots.map(\.values))")

        try writer.write(data(["c": "4"]))
        let third = try #require(await collector.waitFor(2))
        #expect(third.values == ["c": "4"])
        #expect(collector.count == 3)
    }

    @Test func seesPlainFileChanges() async throws {
        let temp = try WatchTestDirectory()
        defer { temp.remove() }
        try put(temp.sub("a"), "1")
        try put(temp.sub(".hidden"), "x")
        try FileManager.default.createDirectory(atPath: temp.sub("subdir"), withIntermediateDirectories: false)
        let collector = SnapshotCollector(directory: temp.path, debounce: .milliseconds(50))
        defer { collector.cancel() }

        let initial = try #require(await collector.waitFor(0))
        #expect(initial.values == ["a": "1"])
        #expect(!initial.isKubeletManaged)

        // Written in place: CLOSE_WRITE.
        let handle = try #require(FileHandle(forWritingAtPath: temp.sub("a")))
        try handle.truncate(atOffset: 0)
        try handle.write(contentsOf: Data("2".utf8))
        try handle.close()
        #expect(try #require(await collector.waitFor(1)).values == ["a": "2"])

        try put(temp.sub("b"), "3")  // MOVED_TO
        #expect(try #require(await collector.waitFor(2)).values == ["a": "2", "b": "3"])

        try FileManager.default.removeItem(atPath: temp.sub("a"))  // DELETE
        #expect(try #require(await collector.waitFor(3)).values == ["b": "3"])

        try put(temp.sub(".other"), "ignored")
        try put(temp.sub("b"), "3")  // same content
        try await Task.sleep(for: .milliseconds(400))
        #expect(collector.count == 4)
    }

    @Test func recoversWhenTheDirectoryIsDeletedAndRecreated() async throws {
        let temp = try WatchTestDirectory()
        defer { temp.remove() }
        let dir = temp.sub("volume")
        try KubeletAtomicWriter(directory: dir).write(data(["a": "1"]))
        let collector = SnapshotCollector(directory: dir)
        defer { collector.cancel() }
        #expect(try #require(await collector.waitFor(0)).values == ["a": "1"])

        try FileManager.default.removeItem(atPath: dir)
        try await Task.sleep(for: .milliseconds(300))
        try KubeletAtomicWriter(directory: dir).write(data(["a": "2"]))
        #expect(try #require(await collector.waitFor(1)).values == ["a": "2"])

        // The new directory is watched, not just read once.
        try KubeletAtomicWriter(directory: dir).write(data(["a": "3"]))
        #expect(try #require(await collector.waitFor(2)).values == ["a": "3"])

        // Moved away and another one moved in.
        #expect(rename(dir, temp.sub("moved")) == 0)
        try KubeletAtomicWriter(directory: temp.sub("staging")).write(data(["a": "4"]))
        #expect(rename(temp.sub("staging"), dir) == 0)
        #expect(try #require(await collector.waitFor(3)).values == ["a": "4"])
        #expect(collector.count == 4)
    }

    @Test func waitsForADirectoryThatDoesNotExistYet() async throws {
        let temp = try WatchTestDirectory()
        defer { temp.remove() }
        let dir = temp.sub("later")
        let collector = SnapshotCollector(directory: dir)
        defer { collector.cancel() }
        try await Task.sleep(for: .milliseconds(300))
        #expect(collector.count == 0)
        try KubeletAtomicWriter(directory: dir).write(data(["k": "v"]))
        #expect(try #require(await collector.waitFor(0)).values == ["k": "v"])
    }

    @Test func watchesSeveralDirectoriesAtOnce() async throws {
        let temp = try WatchTestDirectory()
        defer { temp.remove() }
        let one = KubeletAtomicWriter(directory: temp.sub("one"))
        let two = KubeletAtomicWriter(directory: temp.sub("two"))
        try one.write(data(["x": "1"]))
        try two.write(data(["y": "1"]))
        let first = SnapshotCollector(directory: one.directory)
        let second = SnapshotCollector(directory: two.directory)
        let sameAsFirst = SnapshotCollector(directory: one.directory + "/")  // same directory, other spelling
        defer { first.cancel(); second.cancel(); sameAsFirst.cancel() }
        for collector in [first, second, sameAsFirst] {
            #expect(await collector.waitFor(0) != nil)
        }

        try one.write(data(["x": "2"]))
        try two.write(data(["y": "2"]))
        #expect(try #require(await first.waitFor(1)).values == ["x": "2"])
        #expect(try #require(await second.waitFor(1)).values == ["y": "2"])
        #expect(try #require(await sameAsFirst.waitFor(1)).values == ["x": "2"])

        // Dropping one subscriber of a shared watch keeps the other working.
        sameAsFirst.cancel()
        try one.write(data(["x": "3"]))
        #expect(try #require(await first.waitFor(2)).values == ["x": "3"])
    }

    @Test func terminatingAStreamUnwatchesAndANewWatcherWorks() async throws {
        let temp = try WatchTestDirectory()
        defer { temp.remove() }
        let writer = KubeletAtomicWriter(directory: temp.path)
        try writer.write(data(["a": "1"]))
        let canonical = URL(fileURLWithPath: temp.path).resolvingSymlinksInPath().path

        let first = SnapshotCollector(directory: temp.path)
        #expect(await first.waitFor(0) != nil)
        #expect(InotifyThread.shared.watchedDirectories().contains(canonical))
        first.cancel()
        try await eventually("the directory unwatched", timeout: .seconds(30)) { !InotifyThread.shared.watchedDirectories().contains(canonical) }

        // Dropping the stream without iterating it also ends the subscription.
        do {
            let stream = DirectoryWatcher(directory: temp.path, logger: .init(label: "test")).snapshots()
            var iterator = stream.makeAsyncIterator()
            _ = await iterator.next()
        }
        try await eventually("the directory unwatched", timeout: .seconds(30)) { !InotifyThread.shared.watchedDirectories().contains(canonical) }

        let second = SnapshotCollector(directory: temp.path)
        defer { second.cancel() }
        #expect(try #require(await second.waitFor(0)).values == ["a": "1"])
        try writer.write(data(["a": "2"]))
        #expect(try #require(await second.waitFor(1)).values == ["a": "2"])
        #expect(first.count == 1)
    }

    @Test func stoppingTheThreadEndsStreamsAndALaterSubscribeRestartsIt() async throws {
        let temp = try WatchTestDirectory()
        defer { temp.remove() }
        let raw = InotifyThread.shared.subscribe(directory: temp.path)
        var iterator = raw.makeAsyncIterator()
        #expect(await iterator.next() == .watching)
        InotifyThread.shared.stop()
        #expect(await iterator.next() == nil)

        // A watcher outlives a stop: its stream ends, it subscribes again, and it still sees changes.
        let writer = KubeletAtomicWriter(directory: temp.path)
        try writer.write(data(["a": "1"]))
        let collector = SnapshotCollector(directory: temp.path)
        defer { collector.cancel() }
        #expect(await collector.waitFor(0) != nil)
        InotifyThread.shared.stop()
        try writer.write(data(["a": "2"]))
        #expect(try #require(await collector.waitFor(1)).values == ["a": "2"])
    }

    /// What lets a later sidecar tell this one's wake-up directory from a dead one's (`InotifyWakeDirectory`).
    @Test func theThreadHoldsTheLockOfItsWakeDirectoryAndRemovesItWhenStopped() async throws {
        let temp = try WatchTestDirectory()
        defer { temp.remove() }
        var iterator = InotifyThread.shared.subscribe(directory: temp.path).makeAsyncIterator()
        #expect(await iterator.next() == .watching)
        let wakeDirectory = InotifyThread.shared.wakeDirectory
        let fd = open(wakeDirectory + "/" + InotifyWakeDirectory.lockName, O_RDONLY | O_CLOEXEC)
        defer { if fd >= 0 { close(fd) } }
        #expect(fd >= 0, "no lock file in the wake directory \(wakeDirectory)")
        #expect(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) != 0, "nobody holds the lock of \(wakeDirectory)")

        InotifyThread.shared.stop()
        #expect(await iterator.next() == nil)
        try await eventually("the wake directory removed", timeout: .seconds(30)) { !FileManager.default.fileExists(atPath: wakeDirectory) }
    }

    /// The inotify fd must not leak into child processes, and an idle watcher must not wake its thread.
    @Test func inotifyDescriptorIsCloseOnExecAndIdleThreadSleeps() async throws {
        let temp = try WatchTestDirectory()
        defer { temp.remove() }
        let collector = SnapshotCollector(directory: temp.path)
        defer { collector.cancel() }
        #expect(await collector.waitFor(0) != nil)

        let descriptors = try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").compactMap(Int32.init)
            .filter { (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\($0)")) == "anon_inode:inotify" }
        #expect(!descriptors.isEmpty)
        for fd in descriptors {
            #expect(fcntl(fd, F_GETFD) & FD_CLOEXEC != 0)
        }

        let tasks = try FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")
        let tid = try #require(
            tasks.first {
                (try? String(contentsOfFile: "/proc/self/task/\($0)/comm", encoding: .utf8))?.hasPrefix("raybridge-ino") == true
            })
        func switches() throws -> String {
            try String(contentsOfFile: "/proc/self/task/\(tid)/status", encoding: .utf8)
                .split(separator: "\n").filter { $0.contains("ctxt_switches") }.joined(separator: " ")
        }
        try await Task.sleep(for: .milliseconds(300))
        let before = try switches()
        try await Task.sleep(for: .seconds(2))
        #expect(try switches() == before)
    }
}
