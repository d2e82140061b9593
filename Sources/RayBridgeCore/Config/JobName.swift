/// The job name becomes part of Ray submission ids, driver log file names and S3 keys.
public enum JobName {
    public static func problem(_ name: String) -> String? {
        if name.isEmpty || name.count > 100 { return "must be 1 to 100 characters long" }
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
        if !name.allSatisfy({ allowed.contains($0) }) { return "may only contain letters, digits, '-', '_' and '.'" }
        if name.hasPrefix(".") || name.hasPrefix("-") { return "must start with a letter or digit" }
        return nil
    }
}
