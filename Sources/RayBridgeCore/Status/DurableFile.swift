import Foundation
import SystemPackage

/// Replaces a file so that after a crash it holds either the old or the new bytes, never a mix.
public enum DurableFile {
    /// Only the owner reads these files (the journal, upload state).
    private static let permissions: FilePermissions = .ownerReadWrite

    public static func write(_ data: Data, to path: String) throws {
        let tmp = path + ".tmp"
        try FileDescriptor.writeWholeFile(data, to: tmp, permissions: permissions, replacing: true)
        try FileSystemCalls.rename(tmp, to: path)
        // Without it the rename may not survive a crash; either way the file is whole, old or new, so a
        // directory that cannot be synced is no reason to fail the write.
        try? FileDescriptor.syncDirectory((path as NSString).deletingLastPathComponent)
    }
}
