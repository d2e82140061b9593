/// How long an entrypoint may be before the cluster cannot start it.
///
/// Linux refuses to exec any single argument longer than MAX_ARG_STRLEN (32 pages, 131072 bytes
/// with its terminating NUL), and Ray runs the entrypoint through `/bin/sh -c <entrypoint>`: the
/// whole command line is that one argument. A longer one would be accepted by Ray and then fail
/// with E2BIG on the cluster, long after the edit; it is refused while the key can be named.
public enum EntrypointLimit {
    public static let maximumBytes = 131_071

    /// A message naming the size, or nil when the entrypoint fits.
    public static func problem(script: String, s3: S3Settings?, parameters: [(key: String, value: String)]) -> String? {
        for (key, value) in parameters {
            let size = key.utf8.count + 1 + value.utf8.count
            if size > maximumBytes {
                return "parameter \"\(key.prefix(60))\" is \(size) bytes as key=value, more than the \(maximumBytes) bytes "
                    + "Linux allows in one argument (MAX_ARG_STRLEN); pass large data through S3 instead"
            }
        }
        let size = Entrypoint.build(script: script, s3: s3, parameters: parameters).utf8.count
        if size > maximumBytes {
            return "the entrypoint would be \(size) bytes; Ray runs it as the one argument of /bin/sh -c, which Linux "
                + "limits to \(maximumBytes) bytes (MAX_ARG_STRLEN); pass large data through S3 instead"
        }
        return nil
    }
}
