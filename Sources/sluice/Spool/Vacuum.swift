import SluiceSpool

/// `sluice spool vacuum`: give free pages back to /tmp.
struct Vacuum {
    static let command = Command(
        name: "vacuum", abstract: "Rebuild the file to give free space back to /tmp (waits for the extension's lock).",
        options: [SpoolLocation.option], run: { try Vacuum(location: SpoolLocation($0)).run() })

    let location: SpoolLocation

    func run() throws {
        try reportingFailures {
            let spool = try location.open(.maintenance)
            let before = try spool.statistics().fileBytes
            try spool.vacuum()
            let after = try spool.statistics().fileBytes
            print("vacuumed \(location.resolvedPath): \(Terminal.bytes(before)) -> \(Terminal.bytes(after))")
        }
    }
}
