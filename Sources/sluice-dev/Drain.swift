import ArgumentParser
import SluiceSpool
import SluiceTime

/// Leases and settles everything due, as a shipper would, with chosen failures: for the demo and
/// for fixtures with retries and dead letters.
struct Drain: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Lease and settle every due record: shipped, or with every Nth retried or dead-lettered.")

    @Option(help: "The spool file.") var path: String
    @Option(help: "Dead-letter every Nth record (0: none).") var deadEvery = 0
    @Option(help: "Schedule every Nth record for a retry in a minute (0: none).") var retryEvery = 0
    @Option(help: "Records per lease.") var batchSize = 1000

    func run() throws {
        let spool = try Spool.open(SpoolConfiguration(path: path, capBytes: 1 << 40))
        var position = 0
        var totals = SettleResult()
        while true {
            let leased = try spool.lease(maxCount: batchSize, maxBytes: 5 << 20)
            if leased.isEmpty { break }
            let outcomes = leased.map { record -> (seq: Int64, settlement: Settlement) in
                position += 1
                if deadEvery > 0 && position % deadEvery == 0 {
                    return (
                        record.seq,
                        .deadLetter(
                            reason: "failed to parse field [record] of type [keyword]",
                            errorType: "mapper_parsing_exception")
                    )
                }
                if retryEvery > 0 && position % retryEvery == 0 {
                    return (record.seq, .retry(at: UTCTime.nowMilliseconds() + 60_000, error: "HTTP 503"))
                }
                return (record.seq, .shipped)
            }
            let result = try spool.settle(outcomes)
            totals.shipped += result.shipped
            totals.retried += result.retried
            totals.deadLettered += result.deadLettered
        }
        print("shipped \(totals.shipped), retried \(totals.retried), dead-lettered \(totals.deadLettered)")
    }
}
