import RayBridgeCore
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// The inotify thread's wake-up directory, `<base>/raybridge-inotify-<pid>-<random>`, and the
/// sweep of those whose owner is gone.
///
/// A SIGKILLed sidecar cannot remove its directory, and its pid says nothing about whether it
/// lives: in a container every sidecar is pid 1, and two containers of a pod may share a /tmp
/// emptyDir from different pid namespaces. What does say it is a lock: the owner holds an
/// exclusive `flock` on `owner.lock` inside the directory for as long as the directory has its
/// name, and the kernel releases it when the owner dies, however it dies. So a directory whose lock
/// can be taken has no owner, and one whose lock is held is never touched. The directory is made
/// under a name the sweep ignores and renamed once locked, so there is no moment when it has its
/// name but no lock yet.
enum InotifyWakeDirectory {
    static let lockName = "owner.lock"
    private static let prefix = "raybridge-inotify-"

    /// Whether `name` is one the sweep may consider: `raybridge-inotify-<digits>-<digits>`.
    static func isSweepable(_ name: String) -> Bool {
        guard name.hasPrefix(prefix) else { return false }
        let parts = name.dropFirst(prefix.count).split(separator: "-", omittingEmptySubsequences: false)
        return parts.count == 2 && parts.allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }
    }

    /// Makes `path` with its lock taken, and returns the descriptor that holds the lock: it stays
    /// open (close-on-exec, so no child inherits the lock) until the directory is removed. Whatever
    /// is at `path` already is ours (the name has our pid and a random number): an earlier
    /// directory whose lock file someone deleted. It is replaced.
    static func make(_ path: String) throws -> FileDescriptor {
        let name = String(path.split(separator: "/").last ?? "")
        let base = String(path.dropLast(name.count))
        let staging = base + "." + name + ".new"
        remove(staging)
        try FileSystemCalls.makeDirectory(staging, permissions: .ownerReadWriteExecute)
        let lock: FileDescriptor
        do {
            lock = try FileDescriptor.open(
                path: staging + "/" + lockName, .readOnly, options: [.create, .exclusiveCreate, .noFollow], permissions: .ownerReadWrite)
        } catch {
            remove(staging)
            throw error
        }
        do {
            // Nobody else knows the staging name: this cannot wait.
            try SystemCallError.check(flock(lock.rawValue, LOCK_EX | LOCK_NB), "flock", staging + "/" + lockName)
            do {
                try FileSystemCalls.rename(staging, to: path)
            } catch let error as SystemCallError where error.errno == .directoryNotEmpty || error.errno == .fileExists {
                remove(path)
                try FileSystemCalls.rename(staging, to: path)
            }
            return lock
        } catch {
            try? lock.close()
            remove(staging)
            throw error
        }
    }

    /// Whether `lock` (from `make`) is still the lock file at `path`: false when the directory or
    /// its lock file was deleted behind the owner's back.
    static func holds(_ lock: FileDescriptor, at path: String) -> Bool {
        var held = stat()
        var named = stat()
        guard fstat(lock.rawValue, &held) == 0, lstat(path + "/" + lockName, &named) == 0 else { return false }
        return held.st_dev == named.st_dev && held.st_ino == named.st_ino
    }

    /// Removes `path` and the files in it; the lock file last, so that a sweep never finds the
    /// directory without one while the owner still holds it. Quietly does nothing when it is gone.
    static func remove(_ path: String) {
        let names = (try? FileSystemCalls.listNames(path)) ?? []
        for name in names where name != lockName {
            try? FileSystemCalls.removeFile(path + "/" + name)
        }
        try? FileSystemCalls.removeFile(path + "/" + lockName)
        try? FileSystemCalls.removeDirectory(path)
    }

    /// Removes every wake-up directory in `base` whose lock no process holds, and returns their
    /// paths. Leaves alone: a held lock (its owner lives, in whatever pid namespace), a directory
    /// without a lock file (nothing says its owner is gone), a symlink, and what belongs to another
    /// uid. Every removal goes through descriptors of the checked directory, so a name swapped for
    /// a symlink meanwhile cannot send it elsewhere.
    static func sweep(base: String) -> [String] {
        guard let names = try? FileSystemCalls.listNames(base),
            let baseFD = try? FileDescriptor.open(path: base, .readOnly, options: [.directory])
        else { return [] }
        defer { try? baseFD.close() }
        var removed: [String] = []
        for name in names.sorted() where isSweepable(name) {
            let path = base + "/" + name
            guard let directory = try? FileDescriptor.open(path: path, .readOnly, options: [.directory, .noFollow]) else { continue }
            defer { try? directory.close() }
            var info = stat()
            guard fstat(directory.rawValue, &info) == 0, info.st_uid == geteuid() else { continue }
            let lock = openat(directory.rawValue, lockName, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
            guard lock >= 0 else { continue }
            // Held until the directory is gone, so a sweep running beside this one skips it.
            defer { close(lock) }
            guard flock(lock, LOCK_EX | LOCK_NB) == 0 else { continue }
            for entry in (try? FileSystemCalls.listNames(path)) ?? [] where entry != lockName {
                unlinkat(directory.rawValue, entry, 0)
            }
            unlinkat(directory.rawValue, lockName, 0)
            if unlinkat(baseFD.rawValue, name, AT_REMOVEDIR) == 0 { removed.append(path) }
        }
        return removed
    }
}
