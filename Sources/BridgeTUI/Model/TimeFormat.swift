// TimeFormat: clock and file-name stamps without Foundation's locale-dependent formatters
// (pure, UTC plus a given offset). Used by the output pane, overlays and scrollback export.

/// Time formatting without Foundation's locale-dependent formatters (pure, UTC + given offset).
public enum TimeFormat {
    static func components(_ seconds: Double) -> (year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) {
        let total = Int(seconds.rounded(.down))
        var days = total >= 0 ? total / 86_400 : (total - 86_399) / 86_400
        let secs = total - days * 86_400
        // Civil-from-days (Howard Hinnant's algorithm).
        days += 719_468
        let era = (days >= 0 ? days : days - 146_096) / 146_097
        let doe = days - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        return (year, month, day, secs / 3600, (secs / 60) % 60, secs % 60)
    }

    static func pad(_ n: Int, _ width: Int = 2) -> String {
        let s = String(n)
        return String(repeating: "0", count: max(0, width - s.count)) + s
    }

    /// "HH:MM:SS"
    public static func clock(_ seconds: Double) -> String {
        let c = components(seconds)
        return "\(pad(c.hour)):\(pad(c.minute)):\(pad(c.second))"
    }

    /// "YYYYMMDD-HHMMSS"
    public static func fileStamp(_ seconds: Double) -> String {
        let c = components(seconds)
        return "\(pad(c.year, 4))\(pad(c.month))\(pad(c.day))-\(pad(c.hour))\(pad(c.minute))\(pad(c.second))"
    }
}
