import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Replaces a file so that after a crash it holds either the old or the new bytes, never a mix.
public enum DurableFile {
    public static func write(_ data: Data, to path: String) throws {
        let tmp = path + ".tmp"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw DurableFileError(path: tmp, call: "open", errno: errno) }
        var failure: DurableFileError?
        data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = DurableFileError(path: tmp, call: "write", errno: errno)
                    return
                }
                offset += n
            }
        }
        if failure == nil, fsync(fd) != 0 { failure = DurableFileError(path: tmp, call: "fsync", errno: errno) }
        close(fd)
        if let failure { throw failure }
        guard rename(tmp, path) == 0 else { throw DurableFileError(path: path, call: "rename", errno: errno) }
        let dir = open((path as NSString).deletingLastPathComponent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dir >= 0 {
            _ = fsync(dir)
            close(dir)
        }
    }
}

public struct DurableFileError: Error, CustomStringConvertible {
    public var path: String
    public var call: String
    public var errno: Int32
    public var description: String { "\(call) \(path): \(String(cString: strerror(errno)))" }
}
