import Foundation

/// Where the checkout's parts are, found from this file's own path so that any clone works, and
/// the Python venv the scripts use (`RAYBRIDGE_VENV`, else `.venv` at the root, as in scripts/lib.sh).
public enum RepositoryLayout {
    public static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    public static func path(_ relative: String) -> String {
        root.appendingPathComponent(relative).path
    }

    public static var venv: String {
        let venv = ProcessInfo.processInfo.environment["RAYBRIDGE_VENV"] ?? ""
        if venv.isEmpty { return path(".venv") }
        return venv.hasPrefix("/") ? venv : path(venv)
    }

    public static var venvPython: String { venv + "/bin/python" }
}
