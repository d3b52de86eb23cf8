import ArgumentParser
import SluiceSpool
import SluiceTime

#if canImport(Glibc)
    import Glibc
#endif

/// Appends synthetic batches to a spool, announcing each commit: fixtures, and the writer that the
/// crash test kills with SIGKILL.
struct Fill: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Append synthetic telemetry to a spool, printing `committed N` after each commit.")

    @Option(help: "The spool file.") var path: String
    @Option(help: "Batches to append.") var batches = 10
    @Option(help: "Records per batch.") var batchSize = 1000
    @Option(help: "Document bytes per record.") var recordBytes = 250
    @Option(help: "Then print `giant` and append one batch of this many records (0: none).") var giant = 0
    @Option(help: "Index name of the records.") var index = "lambda-function"
    @Option(help: "Spool cap in bytes.") var capBytes = 1 << 40
    @Flag(help: "Append the last batch a second time, as the platform does after a lost 200.")
    var redeliverLast = false

    func run() throws {
        let spool = try Spool.open(SpoolConfiguration(path: path, capBytes: capBytes))
        let telemetry = SyntheticTelemetry(recordBytes: recordBytes, startTime: UTCTime.nowMilliseconds())
        var number = Int(try spool.statistics().counters.received)
        func batch(_ count: Int) -> [SpoolRecord] {
            (0..<count).map { _ in
                let record = telemetry.record(number, index: index)
                number += 1
                return SpoolRecord(id: record.id, index: index, eventTime: record.time, document: record.document)
            }
        }
        var committed = 0
        var last: [SpoolRecord] = []
        for _ in 0..<batches {
            last = batch(batchSize)
            committed += try spool.append(last).stored
            print("committed \(committed)")
            fflush(nil)
        }
        if redeliverLast {
            let result = try spool.append(last)
            print("redelivered \(result.received): \(result.duplicates) duplicates, \(result.stored) stored")
        }
        if giant > 0 {
            let records = batch(giant)
            print("giant")
            fflush(nil)
            committed += try spool.append(records).stored
            print("committed \(committed)")
        }
    }
}
