"""The request-unit rules of bench/capacity.py (AWS's pricing of each DynamoDB call), on hand-made calls."""

from __future__ import annotations

from bench import capacity


def item_of_size(size: int, **extra: dict) -> dict:
    """An item of exactly `size` bytes: PK plus one ASCII string attribute padded to fit."""
    item = {"PK": {"S": "k"}, **extra}  # 2 + 1 bytes
    fixed = capacity.item_size(item) + len("data")
    item["data"] = {"S": "x" * (size - fixed)}
    assert capacity.item_size(item) == size
    return item


KB = 1024


# --- item sizes ------------------------------------------------------------------------


def test_strings_count_utf8_bytes_of_name_and_value():
    # GIVEN a Chinese name, 4 characters but 12 bytes in UTF-8
    item = {"name": {"S": "南山校区"}}
    # THEN its size is the 4-byte attribute name plus 12 bytes, not 4 characters
    assert capacity.item_size(item) == 4 + 12
    # AND Chinese attribute names are counted in bytes too
    assert capacity.item_size({"校区": {"S": "a"}}) == 6 + 1


def test_numbers_are_one_byte_per_two_significant_digits_plus_one():
    assert capacity.value_size({"N": "7"}) == 2
    assert capacity.value_size({"N": "1234"}) == 3
    assert capacity.value_size({"N": "12345"}) == 4
    # leading and trailing zeros are trimmed, the sign and the point are free
    assert capacity.value_size({"N": "-000123.4500"}) == capacity.value_size({"N": "12345"})


def test_booleans_null_binary_sets_lists_and_maps():
    assert capacity.value_size({"BOOL": False}) == 1
    assert capacity.value_size({"NULL": True}) == 1
    assert capacity.value_size({"B": b"\x00\x01\x02"}) == 3  # raw bytes, not base64
    assert capacity.value_size({"SS": ["ab", "南"]}) == 2 + 3
    # lists and maps: 3 bytes, plus their contents, plus 1 byte per element
    assert capacity.value_size({"L": []}) == 3
    assert capacity.value_size({"L": [{"S": "ab"}, {"N": "1"}]}) == 3 + (2 + 1) + (2 + 1)
    assert capacity.value_size({"M": {"k": {"S": "ab"}}}) == 3 + (1 + 2 + 1)


# --- reads --------------------------------------------------------------------------------


def test_an_eventually_consistent_getitem_costs_half_a_unit_per_4kb():
    small = capacity.cost_of("GetItem", {"Key": {}}, {"Item": item_of_size(3584)})  # 3.5 KB
    large = capacity.cost_of("GetItem", {"Key": {}}, {"Item": item_of_size(4608)})  # 4.5 KB
    assert small.rru == 0.5
    assert large.rru == 1.0
    assert (small.wru, small.approximate) == (0, False)


def test_a_strongly_consistent_getitem_costs_a_unit_per_4kb():
    cost = capacity.cost_of("GetItem", {"ConsistentRead": True}, {"Item": item_of_size(4608)})
    assert cost.rru == 2.0


def test_a_getitem_that_finds_nothing_still_costs_the_minimum():
    assert capacity.cost_of("GetItem", {"Key": {}}, {}).rru == 0.5


def test_query_rounds_the_summed_size_not_each_item():
    # GIVEN three 1.5 KB items: 4.5 KB together
    items = [item_of_size(1536) for _ in range(3)]
    cost = capacity.cost_of("Query", {}, {"Items": items, "Count": 3, "ScannedCount": 3})
    # THEN the sum is rounded up once, to 8 KB: 1 RRU eventually consistent (per item it would be 1.5)
    assert cost.rru == 1.0
    assert capacity.cost_of("Query", {"ConsistentRead": True}, {"Items": items}).rru == 2.0
    # AND an empty result still costs the minimum
    assert capacity.cost_of("Query", {}, {"Items": [], "Count": 0}).rru == 0.5


def test_a_query_whose_filter_dropped_items_is_flagged_as_a_lower_bound():
    cost = capacity.cost_of("Query", {}, {"Items": [item_of_size(100)], "Count": 1, "ScannedCount": 5})
    assert cost.approximate
    assert "filter" in cost.notes[0]


def test_batch_get_rounds_each_item_and_charges_misses():
    # GIVEN two keys asked for, one found item of 1.5 KB and one of 6.5 KB, and one miss
    params = {"RequestItems": {"t": {"Keys": [{}, {}, {}]}}}
    response = {"Responses": {"t": [item_of_size(1536), item_of_size(6656)]}}
    # THEN 4 KB + 8 KB + the minimum for the miss: 0.5 + 1.0 + 0.5
    assert capacity.cost_of("BatchGetItem", params, response).rru == 2.0


def test_transactional_reads_cost_double_a_strong_read():
    params = {"TransactItems": [{"Get": {}}, {"Get": {}}]}
    response = {"Responses": [{"Item": item_of_size(100)}, {"Item": item_of_size(5000)}]}
    assert capacity.cost_of("TransactGetItems", params, response).rru == 2 * 1 + 2 * 2


# --- writes -------------------------------------------------------------------------------


def test_a_putitem_costs_one_unit_per_kb_rounded_up():
    assert capacity.cost_of("PutItem", {"Item": item_of_size(1536)}).wru == 2  # 1.5 KB
    assert capacity.cost_of("PutItem", {"Item": item_of_size(1024)}).wru == 1
    assert capacity.cost_of("PutItem", {"Item": item_of_size(10)}).wru == 1


def test_a_put_that_may_replace_an_item_is_flagged_unless_it_only_creates():
    plain = capacity.cost_of("PutItem", {"Item": item_of_size(100)})
    create = capacity.cost_of(
        "PutItem",
        {"Item": item_of_size(100), "ConditionExpression": "attribute_not_exists (#0)"},
    )
    assert plain.approximate
    assert not create.approximate


def test_transact_write_items_cost_double():
    # GIVEN two 0.2 KB puts in one transaction
    params = {"TransactItems": [{"Put": {"Item": item_of_size(205)}}, {"Put": {"Item": item_of_size(205)}}]}
    # THEN each costs 2 WRU
    assert capacity.cost_of("TransactWriteItems", params).wru == 4


def test_an_update_is_priced_by_its_after_image_when_returned():
    params = {"Key": {"PK": {"S": "k"}}, "UpdateExpression": "SET #0 = :0", "ReturnValues": "ALL_NEW"}
    cost = capacity.cost_of("UpdateItem", params, {"Attributes": item_of_size(2500)})
    assert (cost.wru, cost.approximate) == (3, False)


def test_an_update_without_its_item_is_approximated_from_key_and_values():
    params = {
        "Key": {"PK": {"S": "k"}},
        "UpdateExpression": "SET #0 = :0, #1 = if_not_exists(#1, :1) ADD #2 :2 REMOVE #3",
        "ConditionExpression": "#4 > :3",
        "ExpressionAttributeNames": {"#0": "note", "#1": "created", "#2": "count", "#3": "gone", "#4": "x"},
        "ExpressionAttributeValues": {
            ":0": {"S": "x" * 1500},
            ":1": {"S": "2026"},
            ":2": {"N": "1"},
            ":3": {"N": "5"},
        },
    }
    # key 3 + note 4+1500 + created 7+4 + count 5+2 (the condition's :3 is not part of the item)
    assert capacity.approximate_updated_item_size(params) == 3 + 1504 + 11 + 7
    cost = capacity.cost_of("UpdateItem", params)
    assert cost.wru == 2
    assert cost.approximate


def test_a_failed_conditional_write_is_still_charged():
    cost = capacity.cost_of("PutItem", {"Item": item_of_size(100)}, error="ConditionalCheckFailedException")
    assert cost.wru == 1
    assert cost.approximate


def test_index_writes_are_counted_when_the_indexes_are_known():
    indexes = {"GSI1": ("GSI1PK", "GSI1SK")}
    in_index = item_of_size(1500, GSI1PK={"S": "a"}, GSI1SK={"S": "b"})
    cost = capacity.cost_of("PutItem", {"Item": in_index}, indexes=indexes)
    assert (cost.wru, cost.gsi_wru, cost.total) == (2, 2, 4)
    # an item without the index keys is not written to the index
    assert capacity.cost_of("PutItem", {"Item": item_of_size(1500)}, indexes=indexes).gsi_wru == 0


def _table(projection: dict) -> dict:
    return {
        "KeySchema": [{"AttributeName": "PK", "KeyType": "HASH"}],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": "GSI1",
                "KeySchema": [
                    {"AttributeName": "GSI1PK", "KeyType": "HASH"},
                    {"AttributeName": "GSI1SK", "KeyType": "RANGE"},
                ],
                "Projection": projection,
            }
        ],
    }


def test_a_keys_only_or_include_index_is_written_at_its_projected_size():
    big = item_of_size(1500, GSI1PK={"S": "a"}, GSI1SK={"S": "b"})
    big["name"] = {"S": "n"}
    keys_only = capacity.indexes_from_table(_table({"ProjectionType": "KEYS_ONLY"}))
    include = capacity.indexes_from_table(_table({"ProjectionType": "INCLUDE", "NonKeyAttributes": ["name"]}))
    every = capacity.indexes_from_table(_table({"ProjectionType": "ALL"}))
    put = {"Item": big}
    assert capacity.cost_of("PutItem", put, indexes=every).gsi_wru == 2  # the whole 1.5 KB item
    assert capacity.cost_of("PutItem", put, indexes=keys_only).gsi_wru == 1  # PK + the index keys
    assert capacity.cost_of("PutItem", put, indexes=include).gsi_wru == 1  # ... + name


def test_an_update_of_attributes_an_index_does_not_hold_writes_nothing_there():
    after = {"PK": {"S": "k"}, "GSI1PK": {"S": "a"}, "GSI1SK": {"S": "b"}, "name": {"S": "n"}, "notes": {"S": "x"}}
    update = {
        "Key": {"PK": {"S": "k"}},
        "UpdateExpression": "SET #n = :v",
        "ExpressionAttributeNames": {"#n": "notes"},
        "ExpressionAttributeValues": {":v": {"S": "x"}},
        "ReturnValues": "ALL_NEW",
    }
    include = capacity.indexes_from_table(_table({"ProjectionType": "INCLUDE", "NonKeyAttributes": ["name"]}))
    every = capacity.indexes_from_table(_table({"ProjectionType": "ALL"}))
    response = {"Attributes": after}
    assert capacity.cost_of("UpdateItem", update, response, indexes=include).gsi_wru == 0
    assert capacity.cost_of("UpdateItem", update, response, indexes=every).gsi_wru == 1
    update["ExpressionAttributeNames"] = {"#n": "name"}  # a projected attribute: the copy changes
    assert capacity.cost_of("UpdateItem", update, response, indexes=include).gsi_wru == 1


def test_control_plane_calls_cost_nothing():
    assert capacity.cost_of("DescribeTable", {"TableName": "t"}).total == 0
