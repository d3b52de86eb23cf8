import CZlib
import Foundation
import SluiceTestSupport
import Testing

@testable import SluiceOpenSearch

@Suite struct BulkEncodingTests {
    let documents = [
        BulkDocument(index: "lambda-function", id: "0001-a", body: Array(#"{"type":"function","record":"hi"}"#.utf8)),
        BulkDocument(index: "lambda-platform", id: "0001-\"b\"", body: Array(#"{"type":"platform.start"}"#.utf8)),
    ]

    @Test func createActionsCarryIndexAndID() {
        let body = String(decoding: BulkEncoder().encode(documents), as: UTF8.self)
        #expect(
            body == """
                {"create":{"_index":"lambda-function","_id":"0001-a"}}
                {"type":"function","record":"hi"}
                {"create":{"_index":"lambda-platform","_id":"0001-\\"b\\""}}
                {"type":"platform.start"}

                """)
    }

    @Test func aReplacingDocumentIsAnIndexActionWhereOneCanOverwrite() {
        let replacing = BulkDocument(index: "inv", id: "x-inv-a", body: Array("{}".utf8), replaces: true)
        func action(_ encoder: BulkEncoder) -> Substring {
            String(decoding: encoder.encode([replacing, documents[0]]), as: UTF8.self).split(separator: "\n")[0]
        }
        #expect(action(BulkEncoder()) == #"{"index":{"_index":"inv","_id":"x-inv-a"}}"#)
        // Data streams take `create` alone; with the server's ids there is nothing to overwrite.
        #expect(action(BulkEncoder(replaces: false)) == #"{"create":{"_index":"inv","_id":"x-inv-a"}}"#)
        #expect(action(BulkEncoder(idPlacement: .field("event_id"))) == #"{"create":{"_index":"inv"}}"#)
        let second = String(decoding: BulkEncoder().encode([replacing, documents[0]]), as: UTF8.self)
        #expect(second.split(separator: "\n")[2] == #"{"create":{"_index":"lambda-function","_id":"0001-a"}}"#)
    }

    @Test func serverChosenIDsKeepOursInAField() throws {
        let encoder = BulkEncoder(idPlacement: .field("event_id"))
        let lines = String(decoding: encoder.encode(documents), as: UTF8.self).split(separator: "\n")
        #expect(lines[0] == #"{"create":{"_index":"lambda-function"}}"#)
        #expect(lines[1] == #"{"event_id":"0001-a","type":"function","record":"hi"}"#)
        #expect(lines[3] == #"{"event_id":"0001-\"b\"","type":"platform.start"}"#)
        #expect(BulkEncoder.inserting(field: "x", value: "1", into: Array("{}".utf8)) == Array(#"{"x":"1"}"#.utf8))
    }

    @Test func dataStreamRequestsAreCreateOnlyWithATimestampAndATemplate() throws {
        let document = BulkDocument(
            index: "logs-lambda", id: "0001-a",
            body: Array(#"{"@timestamp":"2026-11-25T12:00:00.000Z","type":"function","record":"x"}"#.utf8))
        let lines = String(decoding: BulkEncoder().encode([document]), as: UTF8.self).split(separator: "\n")
        let action = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        #expect(Array(action.keys) == ["create"], "data streams accept only create")
        let source = try #require(try JSONSerialization.jsonObject(with: Data(lines[1].utf8)) as? [String: Any])
        #expect(source["@timestamp"] as? String == "2026-11-25T12:00:00.000Z")

        let template = OpenSearchClient.dataStreamTemplate(
            index: "logs-lambda", definition: Array(#"{"mappings":{"properties":{"message":{"type":"text"}}}}"#.utf8))
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(template)) as? [String: Any])
        #expect(parsed["index_patterns"] as? [String] == ["logs-lambda"])
        #expect(parsed["data_stream"] is [String: Any])
        #expect((parsed["template"] as? [String: Any])?["mappings"] != nil)
    }

    @Test func itemOutcomesFollowTheStatusAndErrorType() {
        #expect(BulkItemOutcome.classify(status: 201, errorType: nil, reason: nil) == .indexed)
        #expect(
            BulkItemOutcome.classify(status: 409, errorType: "version_conflict_engine_exception", reason: "exists")
                == .duplicate)
        #expect(
            BulkItemOutcome.classify(status: 429, errorType: "es_rejected_execution_exception", reason: "busy")
                == .retry(status: 429, reason: "HTTP 429: es_rejected_execution_exception: busy"))
        #expect(
            BulkItemOutcome.classify(status: 503, errorType: "unavailable_shards_exception", reason: nil)
                == .retry(status: 503, reason: "HTTP 503: unavailable_shards_exception"))
        #expect(
            BulkItemOutcome.classify(status: 400, errorType: "es_rejected_execution_exception", reason: nil)
                == .retry(status: 400, reason: "HTTP 400: es_rejected_execution_exception"))
        #expect(
            BulkItemOutcome.classify(status: 400, errorType: "mapper_parsing_exception", reason: "failed to parse")
                == .rejected(status: 400, type: "mapper_parsing_exception", reason: "failed to parse"))
    }

    @Test func bulkAnswersAreReadOrRefusedWhole() {
        let answer = #"""
            {"errors":true,"items":[{"create":{"status":201}},{"create":{"status":409,"error":{"type":"version_conflict_engine_exception","reason":"x"}}},{"create":{"status":400,"error":{"type":"mapper_parsing_exception","reason":"bad"}}}]}
            """#
        #expect(
            BulkResponse.parse(Array(answer.utf8), expected: 3)
                == .items([
                    .indexed, .duplicate, .rejected(status: 400, type: "mapper_parsing_exception", reason: "bad"),
                ]))
        guard case .failed(let short) = BulkResponse.parse(Array(answer.utf8), expected: 4) else {
            Issue.record("an answer for fewer documents was read")
            return
        }
        #expect(short.code == .unreadable)
        guard case .failed(let cut) = BulkResponse.parse(Array(answer.utf8.prefix(60)), expected: 3) else {
            Issue.record("a truncated answer was read")
            return
        }
        #expect(cut.code == .unreadable)
    }

    @Test func bulkAnswersAreReadWhateverElseTheyHoldAndRefusedWhenNotWhatOpenSearchSends() {
        func parse(_ text: String, expected: Int = 2) -> BulkResponse {
            BulkResponse.parse(Array(text.utf8), expected: expected)
        }
        // Without filter_path, pretty-printed, with fields in any order and nulls where fields may be.
        let full = """
            { "took" : 3, "errors" : true, "items" : [
                { "create" : { "_index" : "a", "_id" : "1", "_shards" : { "total" : 2, "failed" : [] },
                  "error" : null, "status" : 201 } },
                { "create" : { "error" : { "reason" : null, "type" : "version_conflict_engine_exception",
                  "caused_by" : { "type" : "x", "reason" : "y" } }, "status" : 409 }, "index" : { "status" : 500 } }
            ] }
            """
        #expect(parse(full) == .items([.indexed, .duplicate]))
        #expect(parse(#"{"items":null}"#, expected: 0) == .items([]))
        #expect(parse(#"{"errors":false}"#, expected: 0) == .items([]))
        #expect(
            parse(
                #"{"items":[{"create":{"status":400,"error":{"type":"mapper_parsing_exception","reason":"a \"b\""}}}]}"#,
                expected: 1)
                == .items([.rejected(status: 400, type: "mapper_parsing_exception", reason: #"a "b""#)]))
        for refused in [
            #"{"items":[{"create":{"status":201}},{"create":{}}]}"#,  // an item without a status
            #"{"items":[{"create":{"status":201}},{}]}"#,  // an item without an action
            #"{"items":[{"create":{"status":201}},{"create":{"status":"201"}}]}"#,  // a status that is not a number
            #"{"items":[{"create":{"status":201}},{"create":{"status":201.5}}]}"#,  // nor a whole one
            #"{"items":[{"create":{"status":201}},{"create":{"status":201,"error":{"type":3}}}]}"#,
            #"{"items":[{"create":{"status":201}},{"create":{"status":201}}]} x"#,  // text after it
            #"{"items":[{"create":{"status":201}},{"create":{"status":201}}],}"#,  // not JSON
            #"{"items":{"create":{"status":201}}}"#, "[]", "",
        ] {
            guard case .failed(let error) = parse(refused) else {
                Issue.record("read: \(refused)")
                continue
            }
            #expect(error.code == .unreadable, "\(refused)")
        }
    }

    @Test func requestFailuresKeepStatusTypeAndRetryAfter() {
        let throttled = OpenSearchError.from(
            status: 429, body: Array(#"{"error":{"type":"es_rejected_execution_exception","reason":"busy"}}"#.utf8),
            retryAfter: "3")
        #expect(throttled.code == .throttled)
        #expect(throttled.retryAfterMilliseconds == 3_000)
        #expect(throttled.message == "HTTP 429: es_rejected_execution_exception: busy")
        #expect(OpenSearchError.from(status: 413, body: [], retryAfter: nil).code == .tooLarge)
        #expect(OpenSearchError.from(status: 403, body: [], retryAfter: nil).code == .unauthorized)
        #expect(OpenSearchError.from(status: 502, body: Array("<html>".utf8), retryAfter: nil).code == .unavailable)
        let stream = OpenSearchError.from(
            status: 400,
            body: Array(#"{"error":{"type":"unsupported_operation_exception","reason":"data streams"}}"#.utf8),
            retryAfter: nil)
        #expect(stream.code == .rejected)
        #expect(stream.errorType == "unsupported_operation_exception")
    }

    @Test func gzipBodiesInflateToTheOriginal() throws {
        let original = Array(String(repeating: #"{"create":{"_index":"x","_id":"1"}}\n{"a":1}\n"#, count: 500).utf8)
        let compressed = try #require(Gzip.compress(original))
        #expect(compressed.count < original.count / 10)
        #expect(compressed.prefix(2) == [0x1F, 0x8B], "a gzip member")
        #expect(try inflate(compressed) == original)
    }

    @Test func compressedBodyInflatesToThePlainBody() throws {
        // About 600 KB of NDJSON: it is compressed in many 64 KiB pieces.
        let padding = String(repeating: "x", count: 150)
        let many = (0..<3_000).map { number in
            BulkDocument(
                index: "lambda-function", id: "id-\(number)",
                body: Array(#"{"type":"function","record":"line \#(number) \#(padding)"}"#.utf8))
        }
        for encoder in [BulkEncoder(), BulkEncoder(idPlacement: .field("event_id"))] {
            let plain = encoder.encode(many)
            #expect(plain.count > 8 * (64 << 10))
            let compressed = try #require(encoder.encodeCompressed(many))
            #expect(try inflate(compressed) == plain)
        }
    }

    @Test func gzipOutputLargerThanOneChunkIsWhole() throws {
        // Bytes that barely compress: the output spans several of the compressor's 64 KiB steps.
        var generator = SeededRandom(seed: 7)
        let original = (0..<300_000).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        let compressed = try #require(Gzip.compress(original))
        #expect(compressed.count > 4 * (64 << 10))
        #expect(try inflate(compressed) == original)
    }

    @Test func gzipStateIsSizedToTheBodyAndEverySizeInflatesToTheOriginal() throws {
        // A window that holds the body, up to zlib's default (32 KiB, memory level 8).
        #expect(Gzip.state(for: 0) == (9, 2))
        #expect(Gzip.state(for: 512) == (9, 2))
        #expect(Gzip.state(for: 513) == (10, 3))
        #expect(Gzip.state(for: 5_000) == (13, 6))
        #expect(Gzip.state(for: 32_768) == (15, 8))
        #expect(Gzip.state(for: 5 << 20) == (15, 8))
        let line = #"{"create":{"_index":"lambda-function","_id":"1"}}\n{"type":"platform.report","record":{}}\n"#
        var generator = SeededRandom(seed: 11)
        for size in [0, 1, 100, 511, 512, 513, 4_096, 5_000, 20_000, 32_767, 32_768, 40_000, 200_000] {
            let text = Array(String(repeating: line, count: size / line.utf8.count + 1).utf8.prefix(size))
            let noise = (0..<size).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            for original in [text, noise] {
                let compressed = try #require(Gzip.compress(original), "\(size) bytes")
                #expect(try inflate(compressed) == original, "\(size) bytes")
            }
            if size >= 4_096 {
                #expect(try #require(Gzip.compress(text)).count < size / 8, "\(size) bytes of NDJSON")
            }
        }
    }

    @Test func aLargeBodyIsOneMemberWhateverTheSizesOfItsWrites() throws {
        // Past 64,000 bytes, zlib's window starts again (a full flush) where it would slide. The
        // body must stay one gzip member that inflates whole: OpenSearch reads the first member only.
        var generator = SeededRandom(seed: 5)
        let line = #"{"create":{"_index":"lambda-function","_id":"1"}}\n{"type":"function","record":"line"}\n"#
        let text = Array(String(repeating: line, count: 5_000).utf8)
        let noise = (0..<300_000).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        for original in [text, noise] {
            let gzip = Gzip(expectedInput: original.count)
            var at = 0
            while at < original.count {
                let count = min(original.count - at, Int(generator.next() % 90_000) + 1)
                original[at..<at + count].withUnsafeBufferPointer { gzip.write($0) }
                at += count
            }
            let compressed = try #require(gzip.finish())
            #expect(try inflate(compressed) == original)
        }
        #expect(try #require(Gzip.compress(text)).count < text.count / 8)
    }

    func inflate(_ bytes: [UInt8]) throws -> [UInt8] {
        var stream = z_stream()
        #expect(inflateInit2_(&stream, 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK)
        defer { inflateEnd(&stream) }
        var input = bytes
        var output = [UInt8](repeating: 0, count: 1 << 20)
        let status = input.withUnsafeMutableBufferPointer { source in
            output.withUnsafeMutableBufferPointer { target in
                stream.next_in = source.baseAddress
                stream.avail_in = UInt32(source.count)
                stream.next_out = target.baseAddress
                stream.avail_out = UInt32(target.count)
                return CZlib.inflate(&stream, Z_FINISH)
            }
        }
        #expect(status == Z_STREAM_END)
        #expect(stream.avail_in == 0, "one gzip member, nothing after it")
        return Array(output.prefix(Int(stream.total_out)))
    }
}

@Suite struct RetryPolicyTests {
    @Test func backoffIsFullJitterUnderAGrowingCeiling() {
        let policy = RetryPolicy(baseMilliseconds: 100, capMilliseconds: 1_000, maxAttempts: 5)
        var generator = SystemRandomNumberGenerator()
        for attempt in 1...8 {
            let ceiling = min(1_000, 100 << (attempt - 1))
            let delays = (0..<200).map { _ in policy.delay(afterAttempt: attempt, using: &generator) }
            #expect(delays.allSatisfy { $0 >= 0 && $0 <= Int64(ceiling) })
            #expect(Set(delays).count > 1, "jittered")
        }
        #expect(policy.delay(afterAttempt: 1, retryAfterMilliseconds: 5_000, using: &generator) == 5_000)
        #expect(policy.delay(afterAttempt: 1_000, using: &generator) <= 1_000, "no overflow")
    }

    @Test func givingUpFollowsAttemptsAndAge() {
        let policy = RetryPolicy(maxAttempts: 3, maxAgeMilliseconds: 60_000)
        #expect(!policy.givesUp(attempts: 2, receivedAt: 0, now: 59_999))
        #expect(policy.givesUp(attempts: 3, receivedAt: 0, now: 1))
        #expect(policy.givesUp(attempts: 1, receivedAt: 0, now: 60_000))
    }
}
