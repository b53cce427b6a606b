"""Images in a message: by URL and inline (seed "Multimodal"; README "Images")."""

import base64

from _target import provider_or_mock

from ailib import AiClient, ContentBlock, Message, MessageRole

provider_or_mock("openai")

IMAGE_URL = (
    "https://upload.wikimedia.org/wikipedia/commons/4/47/PNG_transparency_demonstration_1.png"
)
# a 1x1 PNG; read your own with open("photo.jpg", "rb") or ContentBlock.image_file("photo.jpg")
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)

with AiClient.create("openai/gpt-4o") as client:
    # image from URL
    message = Message.user_with_image("What's in this image?", image_url=IMAGE_URL)
    print(client.chat().messages([message]).execute().content)

    # image from base64 (the media type is read from the bytes when not given)
    image_data = base64.b64encode(PNG).decode()
    message = Message(
        role=MessageRole.USER,
        content=[
            ContentBlock.text("Describe this image:"),
            ContentBlock.image_base64(image_data, "image/png"),
        ],
    )
    print(client.chat().messages([message]).execute().content)
