"""Starts `cairn mcp` the way Claude Desktop, LM Studio and Jan do (a child process on
stdio), through the official MCP Python SDK, lists its tools, calls each, and prints what
came back as one JSON object (read by crates/cli/tests/mcp.rs).

usage: mcp_client.py QUERY CAIRN [CAIRN_ARGS...]
"""

import asyncio
import json
import os
import sys

from mcp import ClientSession, StdioServerParameters, stdio_client


def result(r):
    return {
        "is_error": bool(r.is_error),
        "structured": r.structured_content,
        "text": [c.text for c in r.content if getattr(c, "type", None) == "text"],
    }


async def main():
    query, command, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    server = StdioServerParameters(command=command, args=args, env=dict(os.environ))
    seen = {}
    async with stdio_client(server) as (read, write):
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            seen["server"] = {
                "name": init.server_info.name,
                "protocol": init.protocol_version,
                "instructions": init.instructions,
            }
            tools = await session.list_tools()
            seen["tools"] = [
                {"name": t.name, "description": t.description, "input": t.input_schema}
                for t in tools.tools
            ]
            seen["documents"] = result(await session.call_tool("list_documents", {}))
            search = await session.call_tool("search_documents", {"query": query, "k": 3})
            seen["search"] = result(search)
            hits = (search.structured_content or {}).get("results") or []
            if hits:
                seen["passage"] = result(
                    await session.call_tool(
                        "get_passage", {"chunk_id": hits[0]["chunk_id"], "context": 300}
                    )
                )
                listed = (seen["documents"]["structured"] or {}).get("documents") or []
                others = [d["id"] for d in listed if d["id"] != hits[0]["document_id"]]
                seen["other_documents"] = others
                seen["in_other_documents"] = result(
                    await session.call_tool(
                        "search_documents", {"query": query, "k": 3, "documents": others}
                    )
                )
            seen["unknown_passage"] = result(
                await session.call_tool("get_passage", {"chunk_id": "no-such-chunk"})
            )
            seen["empty_query"] = result(
                await session.call_tool("search_documents", {"query": "  "})
            )
    print(json.dumps(seen))


asyncio.run(main())
