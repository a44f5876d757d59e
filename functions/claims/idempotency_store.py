"""The idempotency records of ``POST /claims``, in DynamoDB through the function's botocore client.

Powertools' ``DynamoDBPersistenceLayer`` imports the boto3 package when its module loads (for a
version check and boto3's ``TypeDeserializer``): boto3's session and resource machinery, s3transfer
and its thread and process pools, 10-15 ms of CPU of the claim routes' cold start
(docs/performance.md), though it then calls only the low-level client it is given. This store is
the same one written on Powertools' documented extension point, ``BasePersistenceLayer`` ("bring
your own persistent store": ``_get_record``, ``_put_record``, ``_update_record``,
``_delete_record``), with the portal's botocore client and :mod:`portal_common.dynamo_types`.

Everything else is Powertools': the key hashing, the payload validation, the expiry, the
in-progress protection and the decorator's protocol. The records are those of Powertools' layer
with its default attribute names (``id``, ``expiration``, ``in_progress_expiration``, ``status``,
``data``, ``validation``) and the same conditional writes, so records left by either are read by
the other (``tests/integration/test_idempotency_store.py`` runs both against the same table).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from aws_lambda_powertools.shared import user_agent
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyItemAlreadyExistsError,
    IdempotencyItemNotFoundError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import STATUS_CONSTANTS, DataRecord
from botocore.exceptions import ClientError

from portal_common.dynamo_types import deserialize

KEY = "id"
EXPIRY = "expiration"
IN_PROGRESS_EXPIRY = "in_progress_expiration"
STATUS = "status"
DATA = "data"
VALIDATION = "validation"

# A record can be (re)written when its key is new, when the record has expired (TTL deletion runs
# up to days late), or when it is still INPROGRESS past its in-progress expiry (the invocation
# holding it timed out).
_PUT_CONDITION = (
    "attribute_not_exists(#id) OR #expiry < :now OR "
    "(#status = :inprogress AND attribute_exists(#in_progress_expiry) AND #in_progress_expiry < :now_in_millis)"
)


class DynamoDBIdempotencyStore(BasePersistenceLayer):
    """Powertools' idempotency records in ``table_name`` (partition key ``id``), written with
    ``client`` (a botocore DynamoDB client)."""

    def __init__(self, table_name: str, client: Any) -> None:
        self.table_name = table_name
        self.client = client
        # As Powertools' layer does with the client it is given (its feature in the User-Agent).
        user_agent.register_feature_to_client(client=client, feature="idempotency")
        super().__init__()

    def _item_to_data_record(self, item: dict[str, Any]) -> DataRecord:
        data = deserialize({"M": item})
        return DataRecord(
            idempotency_key=data[KEY],
            status=data[STATUS],
            expiry_timestamp=data[EXPIRY],
            in_progress_expiry_timestamp=data.get(IN_PROGRESS_EXPIRY),
            response_data=data.get(DATA),
            payload_hash=data.get(VALIDATION),
        )

    def _get_record(self, idempotency_key: str) -> DataRecord:
        response = self.client.get_item(
            TableName=self.table_name, Key={KEY: {"S": idempotency_key}}, ConsistentRead=True
        )
        try:
            item = response["Item"]
        except KeyError as missing:
            raise IdempotencyItemNotFoundError from missing
        return self._item_to_data_record(item)

    def _put_record(self, data_record: DataRecord) -> None:
        item: dict[str, Any] = {
            KEY: {"S": data_record.idempotency_key},
            EXPIRY: {"N": str(data_record.expiry_timestamp)},
            STATUS: {"S": data_record.status},
        }
        if data_record.in_progress_expiry_timestamp is not None:
            item[IN_PROGRESS_EXPIRY] = {"N": str(data_record.in_progress_expiry_timestamp)}
        if self.payload_validation_enabled and data_record.payload_hash:
            item[VALIDATION] = {"S": data_record.payload_hash}
        now = dt.datetime.now()
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item=item,
                ConditionExpression=_PUT_CONDITION,
                ExpressionAttributeNames={
                    "#id": KEY,
                    "#expiry": EXPIRY,
                    "#in_progress_expiry": IN_PROGRESS_EXPIRY,
                    "#status": STATUS,
                },
                ExpressionAttributeValues={
                    ":now": {"N": str(int(now.timestamp()))},
                    ":now_in_millis": {"N": str(int(now.timestamp() * 1000))},
                    ":inprogress": {"S": STATUS_CONSTANTS["INPROGRESS"]},
                },
                # The record that stopped the write comes back with the refusal: no second read.
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as refused:
            if refused.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            held = refused.response.get("Item")
            if held is None:
                raise IdempotencyItemAlreadyExistsError() from refused
            old_data_record = self._item_to_data_record(held)
            try:
                # A different body under the same key: IdempotencyValidationError (409 KEY_REUSED).
                self._validate_payload(data_payload=data_record, stored_data_record=old_data_record)
                self._save_to_cache(data_record=old_data_record)
            except IdempotencyValidationError as mismatch:
                raise mismatch from refused
            raise IdempotencyItemAlreadyExistsError(old_data_record=old_data_record) from refused

    def _update_record(self, data_record: DataRecord) -> None:
        expression = "SET #response_data = :response_data, #expiry = :expiry, #status = :status"
        values: dict[str, Any] = {
            ":expiry": {"N": str(data_record.expiry_timestamp)},
            ":response_data": {"S": data_record.response_data},
            ":status": {"S": data_record.status},
        }
        names = {"#expiry": EXPIRY, "#response_data": DATA, "#status": STATUS}
        if self.payload_validation_enabled:
            expression += ", #validation_key = :validation_key"
            values[":validation_key"] = {"S": data_record.payload_hash}
            names["#validation_key"] = VALIDATION
        self.client.update_item(
            TableName=self.table_name,
            Key={KEY: {"S": data_record.idempotency_key}},
            UpdateExpression=expression,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )

    def _delete_record(self, data_record: DataRecord) -> None:
        self.client.delete_item(TableName=self.table_name, Key={KEY: {"S": data_record.idempotency_key}})
