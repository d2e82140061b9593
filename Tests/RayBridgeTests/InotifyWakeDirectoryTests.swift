import Foundation
import RayBridgeTestKit
import Testing

@testable import RayBridge
@testable import RayBridgeCore

#if canImport(Glibc)
import Glibc
#endif

/// A wake-up directory left by a killed sidecar is removed at the next start; one whose owner
/// lives never is, whatever its pid says (every container's sidecar is pid 1).
@Suite struct InotifyWakeDirectoryTests {
    /// A directory as an owner makes it: the lock file inside, and a stale wake-up file.
    func makeDirectory(_ path: String) throws -> String {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        try #require(FileManager.default.createFile(atPath: path + "/wake-7", contents: nil))
        let lock = path + "/" + InotifyWakeDirectory.lockName
        try #require(FileManager.default.createFile(atPath: lock, contents: nil))
        return lock
    }

    /// The lock taken as an owner takes it; closing the descriptor is what the kernel does when the owner dies.
    func hold(_ lock: String) throws -> Int32 {
        let fd = open(lock, O_RDONLY | O_CLOEXEC)
        try #require(fd >= 0)
        try #require(flock(fd, LOCK_EX | LOCK_NB) == 0)
        return fd
    }

    func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    @Test func onlyDirectoriesWhoseLockNoProcessHoldsAreRemoved() throws {
        let base = try WatchTestDirectory()
        defer { base.remove() }
        let elsewhere = try WatchTestDirectory()
        defer { elsewhere.remove() }

        // pid 1 in every case: the pid cannot tell a dead owner from a live one in another container.
        let dead = base.sub("raybridge-inotify-1-222")
        close(try hold(try makeDirectory(dead)))
        let live = base.sub("raybridge-inotify-1-111")
        let liveLock = try hold(try makeDirectory(live))
        defer { close(liveLock) }
        // Made by a raybridge before the lock: nothing says whether its owner lives.
        let unlocked = base.sub("raybridge-inotify-1-333")
        try FileManager.default.createDirectory(atPath: unlocked, withIntermediateDirectories: false)
        // Other names, even with a lock file nobody holds, are not the sweep's business.
        let others = ["raybridge-inotify-1-", "raybridge-inotify-x-1", ".raybridge-inotify-1-5.new", "raybridge-inotify-1-5.old"]
        for name in others { _ = try makeDirectory(base.sub(name)) }
        // A name that matches but is a symlink is not followed: what it points to stays whole.
        _ = try makeDirectory(elsewhere.sub("target"))
        try FileManager.default.createSymbolicLink(atPath: base.sub("raybridge-inotify-1-444"), withDestinationPath: elsewhere.sub("target"))

        let removed = InotifyWakeDirectory.sweep(base: base.path)

        #expect(removed == [dead])
        #expect(!exists(dead))
        #expect(exists(live + "/wake-7") && exists(live + "/" + InotifyWakeDirectory.lockName))
        #expect(exists(unlocked))
        for name in others { #expect(exists(base.sub(name) + "/wake-7"), "\(name)") }
        #expect(exists(elsewhere.sub("target/wake-7")) && exists(base.sub("raybridge-inotify-1-444")))
        #expect(InotifyWakeDirectory.sweep(base: base.path).isEmpty)
    }

    @Test func aSIGKILLedOwnersDirectoryIsRemovedAndNotBefore() async throws {
        let base = try WatchTestDirectory()
        defer { base.remove() }
        let directory = base.sub("raybridge-inotify-1-555")
        let lock = try makeDirectory(directory)
        // Another process takes the lock and keeps it: the shell opens it as fd 9, flock(1) locks
        // that open file, and `exec sleep` keeps fd 9 in the same process until it is killed.
        let owner = Process()
        owner.executableURL = URL(fileURLWithPath: "/bin/sh")
        owner.arguments = ["-c", "exec 9<\"$1\" && flock -x 9 && exec sleep 60", "sh", lock]
        owner.standardInput = FileHandle.nullDevice
        try owner.run()
        defer { if owner.isRunning { kill(owner.processIdentifier, SIGKILL) } }
        try await eventually("the other process holds the lock", timeout: .seconds(30)) {
            let fd = open(lock, O_RDONLY | O_CLOEXEC)
            defer { close(fd) }
            return flock(fd, LOCK_EX | LOCK_NB) != 0
        }

        #expect(InotifyWakeDirectory.sweep(base: base.path).isEmpty)
        #expect(exists(directory))

        kill(owner.processIdentifier, SIGKILL)
        try await eventually("the killed owner's directory is swept", timeout: .seconds(30)) {
            InotifyWakeDirectory.sweep(base: base.path) == [directory]
        }
        #expect(!exists(directory))
    }
}
