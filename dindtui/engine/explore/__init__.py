"""What runs inside a level: containers, images, volumes, networks and their actions; logs;
stats; shells and exec."""
