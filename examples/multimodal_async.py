"""Images in a message: by URL and inline, async (seed "Multimodal"; README "Images")."""

import asyncio
import base64

from _target import provider_or_mock

from ailib import AsyncAiClient, ContentBlock, Message

provider_or_mock("openai")

IMAGE_URL = (
    "https://upload.wikimedia.org/wikipedia/commons/4/47/PNG_transparency_demonstration_1.png"
)
# a 1x1 PNG; read your own with ContentBlock.image_file("photo.jpg")
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


async def main() -> None:
    async with await AsyncAiClient.create("openai/gpt-4o") as client:
        url_message = Message.user_with_image("What's in this image?", image_url=IMAGE_URL)
        inline_message = Message.user(
            [ContentBlock.text("Describe this image:"), ContentBlock.image_base64(PNG)]
        )
        for message in (url_message, inline_message):
            response = await client.chat().messages([message]).execute()
            print(response.content)


asyncio.run(main())
