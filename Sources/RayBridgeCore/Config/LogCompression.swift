/// `s3upload.compression`: how the streamed log is stored.
public enum LogCompression: String, Sendable, Equatable, CaseIterable {
    /// `<id>.log`, the bytes as Ray has them.
    case none
    /// `<id>.log.gz`: each part one gzip member, so the object (members concatenated) is one valid
    /// gzip stream after any part, and an upload resumed after a crash stays valid.
    case gzip
}
